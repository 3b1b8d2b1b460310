"""VFolder functions against a real manager and a real storage proxy: CRUD, files, tus
upload (multi-chunk, zero-byte), Range-resumed download, sharing/invitations, clone."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from ai.backend.client.config import APIConfig
from ai.backend.client.exceptions import BackendAPIError, BackendClientError
from ai.backend.client.session import AsyncSession
from client.conftest import make_config
from manager.helpers import USER
from manager.vfolders.conftest import (
    RunningStorage,
    storage,  # noqa: F401  (the real storage proxy)
)


def _names(files: dict[str, Any]) -> set[str]:
    return {f["name"] if "name" in f else f["filename"] for f in json.loads(files["files"])}


async def test_vfolder_crud_and_files(manager: Any, storage: RunningStorage, tmp_path: Path) -> None:  # noqa: F811
    name = f"vf-{uuid.uuid4().hex[:8]}"
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    big = os.urandom(3 * 1024 * 1024 + 17)
    (src / "big.bin").write_bytes(big)
    (src / "empty.txt").write_bytes(b"")
    (src / "sub" / "note.txt").write_text("hello vfolder\n")
    async with AsyncSession(config=make_config(manager, USER)) as session:
        hosts = await session.VFolder.list_hosts()
        assert hosts["default"] == "local:volume1" and "local:volume1" in hosts["allowed"]
        created = await session.VFolder.create(name, host="local:volume1")
        assert created["name"] == name
        assert name in [f["name"] for f in await session.VFolder.list()]
        vf = session.VFolder(name)
        assert (await vf.info())["name"] == name

        # small chunks force several tus PATCH requests for one file
        await vf.upload([src / "big.bin", src / "empty.txt", src / "sub"], basedir=src, recursive=True, chunk_size=1024 * 1024)
        assert _names(await vf.list_files(".")) == {"big.bin", "empty.txt", "sub"}
        assert _names(await vf.list_files("sub")) == {"note.txt"}
        with pytest.raises(BackendClientError, match="recursive"):
            await vf.upload([src / "sub"], basedir=src)

        await vf.mkdir("a/b", parents=True)
        await vf.rename_file("sub/note.txt", "renamed.txt")
        await vf.move_file("sub/renamed.txt", "a/b/moved.txt")
        assert _names(await vf.list_files("a/b")) == {"moved.txt"}

        dest = tmp_path / "dest"
        await vf.download(["big.bin", "empty.txt", "a/b/moved.txt"], basedir=dest)
        assert (dest / "big.bin").read_bytes() == big
        assert (dest / "empty.txt").read_bytes() == b""
        assert (dest / "a/b/moved.txt").read_text() == "hello vfolder\n"
        with pytest.raises(BackendClientError, match="already exists"):
            await vf.download(["big.bin"], basedir=dest)

        await vf.delete_files(["a"], recursive=True)
        assert "a" not in _names(await vf.list_files("."))
        with pytest.raises(BackendAPIError) as info:
            await vf.list_files("../..")
        assert info.value.status in (400, 403, 404)

        await vf.rename(name + "-r")
        assert vf.name == name + "-r"
        await vf.delete()
        assert name + "-r" not in [f["name"] for f in await session.VFolder.list()]
        with pytest.raises(BackendAPIError) as info:
            await session.VFolder(name + "-r").info()
        assert info.value.status == 404


async def test_resumed_download(manager: Any, storage: RunningStorage, tmp_path: Path) -> None:  # noqa: F811
    """Half a file on disk + a Range request: the client asks only for the rest."""
    import aiohttp

    name = f"vf-{uuid.uuid4().hex[:8]}"
    payload = os.urandom(2 * 1024 * 1024)
    (tmp_path / "blob").write_bytes(payload)
    async with AsyncSession(config=make_config(manager, USER)) as session:
        await session.VFolder.create(name, host="local:volume1")
        vf = session.VFolder(name)
        await vf.upload([tmp_path / "blob"], basedir=tmp_path)
        # an interrupted transfer: only the first megabyte reached the disk
        rqst_info = await _request_download(session, name, "blob")
        part = tmp_path / "partial"
        async with aiohttp.ClientSession() as http, http.get(rqst_info) as r:
            part.write_bytes(await r.content.readexactly(1024 * 1024))
            last_modified = r.headers["Last-Modified"]
        seen: list[str] = []
        original_get = session.aiohttp_session.get

        def spying_get(url: Any, **kwargs: Any) -> Any:
            seen.append(kwargs.get("headers", {}).get("Range", ""))
            return original_get(url, **kwargs)

        session.aiohttp_session.get = spying_get  # type: ignore[method-assign]
        url = await _request_download(session, name, "blob")
        await vf._download_one(url, part, 1024 * 1024, 3, False, resume=(part.stat().st_size, last_modified))
        assert part.read_bytes() == payload
        assert seen == ["bytes=1048576-"]
        await vf.delete()


async def _request_download(session: Any, name: str, path: str) -> Any:
    from yarl import URL

    from ai.backend.client.request import Request

    rqst = Request("POST", f"/folders/{name}/request-download", session=session)
    rqst.set_json({"path": path})
    async with rqst.fetch() as resp:
        info = await resp.json()
    return URL(info["url"]).update_query({"token": info["token"]})


async def test_sharing_invitations_clone(manager: Any, storage: RunningStorage, api_config: APIConfig) -> None:  # noqa: F811
    name = f"vf-{uuid.uuid4().hex[:8]}"
    async with AsyncSession(config=make_config(manager, USER)) as user, \
            AsyncSession(config=api_config) as admin:
        await admin.VFolder.create(name, host="local:volume1", cloneable=True)
        invited = await admin.VFolder(name).invite("ro", ["user@lablup.com"])
        assert invited["invited_ids"]
        invitations = (await user.VFolder.invitations())["invitations"]
        mine = [i for i in invitations if i["vfolder_name"] == name]
        assert len(mine) == 1
        await user.VFolder.accept_invitation(mine[0]["id"])
        listed = {f["name"]: f for f in await user.VFolder.list()}
        assert name in listed and listed[name]["permission"] == "ro"
        await user.VFolder(name).leave()
        assert name not in [f["name"] for f in await user.VFolder.list()]
        cloned = await admin.VFolder(name).clone(name + "-c")
        assert cloned["name"] == name + "-c"
        await admin.VFolder(name + "-c").delete()
        await admin.VFolder(name).delete()


async def test_project_folder_share_unshare(manager: Any, storage: RunningStorage,  # noqa: F811
                                            api_config: APIConfig) -> None:
    name = f"pf-{uuid.uuid4().hex[:8]}"
    async with AsyncSession(config=make_config(manager, USER)) as user, \
            AsyncSession(config=api_config) as admin:
        await admin.VFolder.create(name, host="local:volume1", group="default")
        shared = await admin.VFolder(name).share("ro", ["user@lablup.com"])
        assert shared == {"shared_emails": ["user@lablup.com"]}
        listed = {f["name"]: f for f in await user.VFolder.list()}
        assert name in listed and listed[name]["permission"] == "ro"
        with pytest.raises(BackendAPIError) as info:
            await admin.VFolder(name).share("rw", ["nobody@example.com"])
        assert info.value.status == 400 and "nobody@example.com" in info.value.data["msg"]
        assert await admin.VFolder(name).unshare(["user@lablup.com"]) == {"unshared_emails": ["user@lablup.com"]}
        after = [f["permission"] for f in await user.VFolder.list() if f["name"] == name]
        assert after == ["rw"]   # back to the project folder's own permission for members
        await admin.VFolder(name).delete()
