"""Virtual folders: CRUD, sharing and invitations via the manager; file contents go directly
to the storage proxy (tus PATCH uploads, Range-resumable downloads) with a one-time token."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from ..exceptions import BackendClientError
from ..request import Request, raise_for_problem
from ..session import api_session
from .base import BaseFunction, PaginatedResult, api_function, paginated_query

__all__ = ("VFolder",)

LIST_FIELDS = ("host", "name", "created_at", "creator", "group", "permission", "ownership_type", "status")
DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024   # the storage proxy's tus chunk limit


def _storage_url(info: Mapping[str, Any], address_map: Mapping[str, str] | None) -> URL:
    url = str(info["url"])
    if address_map:
        if url not in address_map:
            raise BackendClientError(f"no storage proxy address override matches {url}")
        url = address_map[url]
    return URL(url).update_query({"token": info["token"]})


class VFolder(BaseFunction):
    """One virtual folder by name (`VFolder(name)`) plus listing and creation."""

    def __init__(self, name: str) -> None:
        self.name = name

    # --- folders -----------------------------------------------------------------------------

    @api_function
    @classmethod
    async def create(cls, name: str, host: str | None = None, unmanaged_path: str | None = None,
                     group: str | None = None, usage_mode: str = "general", permission: str = "rw",
                     quota: str | int | None = "0", cloneable: bool = False) -> dict[str, Any]:
        rqst = Request("POST", "/folders")
        rqst.set_json({"name": name, "host": host, "unmanaged_path": unmanaged_path, "group": group,
                       "usage_mode": usage_mode, "permission": permission, "quota": quota,
                       "cloneable": cloneable})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def delete_by_id(cls, oid: str) -> Any:
        rqst = Request("DELETE", "/folders")
        rqst.set_json({"id": str(oid)})
        async with rqst.fetch() as resp:
            return await resp.text()

    @api_function
    @classmethod
    async def list(cls, list_all: bool = False) -> list[dict[str, Any]]:
        rqst = Request("GET", "/folders")
        rqst.set_json({"all": list_all})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def paginated_list(cls, group: str | None = None, *, fields: Sequence[Any] = LIST_FIELDS,
                             page_offset: int = 0, page_size: int = 20, filter: str | None = None,
                             order: str | None = None) -> PaginatedResult:
        return await paginated_query("vfolder_list", {
            "group_id": (group, "UUID"), "filter": (filter, "String"), "order": (order, "String")},
            fields, page_offset=page_offset, page_size=page_size)

    @api_function
    @classmethod
    async def list_hosts(cls) -> dict[str, Any]:
        """`{"default": host, "allowed": [hosts...]}` for the requester."""
        async with Request("GET", "/folders/_/hosts").fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def list_all_hosts(cls) -> dict[str, Any]:
        async with Request("GET", "/folders/_/all_hosts").fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def list_allowed_types(cls) -> builtins.list[str]:
        async with Request("GET", "/folders/_/allowed_types").fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def info(self) -> dict[str, Any]:
        async with Request("GET", f"/folders/{self.name}").fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def delete(self) -> None:
        async with Request("DELETE", f"/folders/{self.name}").fetch():
            pass

    @api_function
    async def rename(self, new_name: str) -> None:
        rqst = Request("POST", f"/folders/{self.name}/rename")
        rqst.set_json({"new_name": new_name})
        async with rqst.fetch():
            pass
        self.name = new_name

    @api_function
    async def clone(self, target_name: str, target_host: str | None = None, usage_mode: str = "general",
                    permission: str = "rw") -> dict[str, Any]:
        rqst = Request("POST", f"/folders/{self.name}/clone")
        rqst.set_json({"target_name": target_name, "target_host": target_host, "usage_mode": usage_mode,
                       "permission": permission})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def update_options(self, name: str, permission: str | None = None,
                             cloneable: bool | None = None) -> Any:
        rqst = Request("POST", f"/folders/{self.name}/update-options")
        rqst.set_json({k: v for k, v in (("permission", permission), ("cloneable", cloneable)) if v is not None})
        async with rqst.fetch() as resp:
            return await resp.text()

    # --- files -------------------------------------------------------------------------------

    @api_function
    async def list_files(self, path: str | Path = ".") -> dict[str, Any]:
        """`{"files": "<JSON list>"}` for one directory of the folder."""
        rqst = Request("GET", f"/folders/{self.name}/files")
        rqst.set_json({"path": str(path)})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def mkdir(self, path: str | Path, parents: bool = False, exist_ok: bool = False) -> Any:
        rqst = Request("POST", f"/folders/{self.name}/mkdir")
        rqst.set_json({"path": str(path), "parents": parents, "exist_ok": exist_ok})
        async with rqst.fetch() as resp:
            return await resp.json() if resp.status == 200 else None

    @api_function
    async def rename_file(self, target_path: str, new_name: str) -> Any:
        rqst = Request("POST", f"/folders/{self.name}/rename-file")
        rqst.set_json({"target_path": target_path, "new_name": new_name})
        async with rqst.fetch() as resp:
            return await resp.text()

    @api_function
    async def move_file(self, src_path: str, dst_path: str) -> Any:
        rqst = Request("POST", f"/folders/{self.name}/move-file")
        rqst.set_json({"src": src_path, "dst": dst_path})
        async with rqst.fetch() as resp:
            return await resp.text()

    @api_function
    async def delete_files(self, files: Sequence[str | Path], recursive: bool = False) -> Any:
        rqst = Request("DELETE", f"/folders/{self.name}/delete-files")
        rqst.set_json({"files": [str(f) for f in files], "recursive": recursive})
        async with rqst.fetch() as resp:
            return await resp.text()

    @api_function
    async def upload(self, sources: Sequence[str | Path], *, basedir: str | Path | None = None,
                     recursive: bool = False, dst_dir: str | Path | None = None,
                     chunk_size: int = DEFAULT_CHUNK_SIZE, address_map: Mapping[str, str] | None = None,
                     show_progress: bool = False) -> None:
        """Upload local files (directories too with `recursive`) keeping paths relative to
        `basedir` (default: the working directory), under `dst_dir` in the folder if given."""
        base = Path.cwd() if basedir is None else Path(basedir).resolve()
        files: list[Path] = []
        for src in sources:
            p = Path(src).resolve()
            if p.is_dir():
                if not recursive:
                    raise BackendClientError(f"{src} is a directory; use recursive=True to upload directories")
                files.extend(sorted(f for f in p.rglob("*") if f.is_file()))
            else:
                files.append(p)
        for f in files:
            try:
                rel = f.relative_to(base)
            except ValueError:
                raise BackendClientError(f'"{f}" is outside of the base directory "{base}"') from None
            target = Path(dst_dir) / rel if dst_dir is not None else rel
            await self._upload_one(f, str(target), chunk_size, address_map, show_progress)

    async def _upload_one(self, path: Path, target: str, chunk_size: int,
                          address_map: Mapping[str, str] | None, show_progress: bool) -> None:
        from .session import _tqdm

        size = path.stat().st_size
        rqst = Request("POST", f"/folders/{self.name}/request-upload")
        rqst.set_json({"path": target, "size": size})
        async with rqst.fetch() as resp:
            url = _storage_url(await resp.json(), address_map)
        http = api_session.get().aiohttp_session
        tus = {"Tus-Resumable": "1.0.0"}
        offset, failures = 0, 0
        with _tqdm(path.name, size, show_progress) as bar, open(path, "rb") as fp:
            while offset < size:
                fp.seek(offset)
                chunk = fp.read(min(chunk_size, size - offset))
                headers = {**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
                try:
                    async with http.patch(url, data=chunk, headers=headers) as r:
                        await raise_for_problem(r)
                        new_offset = int(r.headers.get("Upload-Offset", offset + len(chunk)))
                except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as e:
                    failures += 1
                    if failures > 5:
                        raise BackendClientError(f"uploading {path} failed: {e!r}") from e
                    await asyncio.sleep(0.2 * failures)
                    async with http.head(url, headers=tus) as r:   # resume from what the proxy has
                        await raise_for_problem(r)
                        new_offset = int(r.headers.get("Upload-Offset", offset))
                bar.update(new_offset - offset)
                offset = new_offset

    @api_function
    async def download(self, relative_paths: Sequence[str | Path], *, basedir: str | Path | None = None,
                       dst_dir: str | Path | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE,
                       show_progress: bool = False, address_map: Mapping[str, str] | None = None,
                       max_retries: int = 20) -> None:
        """Download files to `basedir` (default: the working directory) under their relative
        paths; an interrupted transfer resumes with a Range request."""
        base = Path.cwd() if basedir is None else Path(basedir).resolve()
        for rel in relative_paths:
            dest = base / rel
            if dest.exists():
                raise BackendClientError(f"the target file already exists: {dest}")
            rqst = Request("POST", f"/folders/{self.name}/request-download")
            rqst.set_json({"path": str(rel)})
            async with rqst.fetch() as resp:
                url = _storage_url(await resp.json(), address_map)
            if dst_dir is not None:
                url = url.update_query({"dst_dir": str(dst_dir)})
            dest.parent.mkdir(parents=True, exist_ok=True)
            await self._download_one(url, dest, chunk_size, max_retries, show_progress)

    async def _download_one(self, url: URL, dest: Path, chunk_size: int, max_retries: int,
                            show_progress: bool, resume: tuple[int, str] | None = None) -> None:
        """Stream one file to `dest`; after a broken transfer (or given `resume` = bytes
        already on disk + their Last-Modified) ask only for the rest with Range/If-Range."""
        from .session import _tqdm

        http = api_session.get().aiohttp_session
        received, validator = resume if resume is not None else (0, None)
        attempts = 0
        bar = None
        try:
            while True:
                headers = {}
                if received and validator:
                    headers = {"Range": f"bytes={received}-", "If-Range": validator}
                try:
                    async with http.get(url, headers=headers) as r:
                        await raise_for_problem(r)
                        if r.status != 206:       # a fresh (or changed) file: start over
                            received = 0
                        validator = r.headers.get("Last-Modified") or r.headers.get("ETag")
                        if bar is None:
                            total = (r.content_length or 0) + received
                            bar = _tqdm(dest.name, total, show_progress)
                        with open(dest, "ab" if received else "wb") as fp:
                            while chunk := await r.content.read(chunk_size):
                                fp.write(chunk)
                                received += len(chunk)
                                bar.update(len(chunk))
                    return
                except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, asyncio.TimeoutError) as e:
                    attempts += 1
                    if attempts > max_retries:
                        raise BackendClientError(f"downloading {dest.name} failed after {max_retries} retries: "
                                                 f"{e!r}") from e
                    await asyncio.sleep(min(0.05 * 2 ** attempts, 2.0))
        finally:
            if bar is not None:
                bar.close()

    # --- sharing -----------------------------------------------------------------------------

    @api_function
    async def invite(self, perm: str, emails: Sequence[str]) -> dict[str, Any]:
        rqst = Request("POST", f"/folders/{self.name}/invite")
        rqst.set_json({"perm": perm, "user_ids": list(emails)})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def invitations(cls) -> dict[str, Any]:
        async with Request("GET", "/folders/invitations/list").fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def accept_invitation(cls, inv_id: str) -> dict[str, Any]:
        rqst = Request("POST", "/folders/invitations/accept")
        rqst.set_json({"inv_id": inv_id})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    @classmethod
    async def delete_invitation(cls, inv_id: str) -> dict[str, Any]:
        rqst = Request("DELETE", "/folders/invitations/delete")
        rqst.set_json({"inv_id": inv_id})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def share(self, perm: str, emails: Sequence[str]) -> dict[str, Any]:
        """Share a project folder with users directly (no invitation)."""
        rqst = Request("POST", f"/folders/{self.name}/share")
        rqst.set_json({"permission": perm, "emails": list(emails)})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def unshare(self, emails: Sequence[str]) -> dict[str, Any]:
        rqst = Request("DELETE", f"/folders/{self.name}/unshare")
        rqst.set_json({"emails": list(emails)})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def leave(self, shared_user_uuid: str | None = None) -> Any:
        rqst = Request("POST", f"/folders/{self.name}/leave")
        if shared_user_uuid:
            rqst.set_json({"shared_user_uuid": shared_user_uuid})
        async with rqst.fetch() as resp:
            return await resp.text()

    @api_function
    @classmethod
    async def list_shared_vfolders(cls) -> Any:
        async with Request("GET", "/folders/_/shared").fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def shared_vfolder_info(cls, vfolder_id: str) -> Any:
        async with Request("GET", "/folders/_/shared", params={"vfolder_id": str(vfolder_id)}).fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def update_shared_vfolder(cls, vfolder: str, user: str, perm: str | None = None) -> Any:
        rqst = Request("POST", "/folders/_/shared")
        rqst.set_json({"vfolder": str(vfolder), "user": str(user), "perm": perm})
        async with rqst.fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def change_vfolder_ownership(cls, vfolder: str, user_email: str) -> Any:
        rqst = Request("POST", "/folders/_/change-ownership")
        rqst.set_json({"vfolder": str(vfolder), "user_email": user_email})
        async with rqst.fetch() as resp:
            return await resp.json()


    # --- host mounts (superadmin; served only where the manager manages host mounts) ----------

    @api_function
    @classmethod
    async def get_fstab_contents(cls, agent_id: str | None = None) -> Any:
        params = {"agent_id": agent_id} if agent_id else {}
        async with Request("GET", "/folders/_/fstab", params=params).fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def list_mounts(cls) -> Any:
        async with Request("GET", "/folders/_/mounts").fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def mount_host(cls, name: str, fs_location: str, options: Mapping[str, Any] | None = None,
                         edit_fstab: bool = False) -> Any:
        rqst = Request("POST", "/folders/_/mounts")
        rqst.set_json({"name": name, "fs_location": fs_location, "options": options, "edit_fstab": edit_fstab})
        async with rqst.fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def umount_host(cls, name: str, edit_fstab: bool = False) -> Any:
        rqst = Request("DELETE", "/folders/_/mounts")
        rqst.set_json({"name": name, "edit_fstab": edit_fstab})
        async with rqst.fetch() as resp:
            return await resp.json()
