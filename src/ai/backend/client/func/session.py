"""Compute sessions: create (get-or-create), control, code execution, files, logs and events.

Sessions are addressed by name (or by id after `from_session_id`); the server accepts both.
`Kernel` is the legacy name of the same class.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import tarfile
import tempfile
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp

from ..exceptions import BackendClientError
from ..request import (
    AttachedFile,
    Request,
    SSEContextManager,
    WebSocketContextManager,
    WebSocketResponse,
)
from ..session import api_session
from .base import BaseFunction, PaginatedResult, api_function, paginated_query, resolve_session

__all__ = ("ComputeSession", "Kernel", "StreamPty")

LIST_FIELDS = ("name", "access_key", "id", "group_name", "main_kernel_id", "image", "type", "status",
               "status_info", "status_changed", "result")
_MODES = {"query": "query", "batch": "batch", "continue": "continue", "continued": "continue",
          "input": "input", "user-input": "input", "complete": "complete"}
_CHUNK = 256 * 1024


class StreamPty(WebSocketResponse):
    """A terminal websocket with resize/restart controls."""

    async def resize(self, rows: int, cols: int) -> None:
        await self.send_str(json.dumps({"type": "resize", "rows": rows, "cols": cols}))

    async def restart(self) -> None:
        await self.send_str(json.dumps({"type": "restart"}))


class _ProgressReader(io.IOBase):
    """A file object that reports read bytes to a tqdm bar (for multipart uploads)."""

    def __init__(self, path: Path, bar: Any) -> None:
        super().__init__()
        self._fp = open(path, "rb")  # noqa: SIM115  (closed on EOF or by aiohttp)
        self._bar = bar
        self.name = str(path)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        chunk = self._fp.read(n)
        if chunk:
            self._bar.update(len(chunk))
        else:
            self._fp.close()
        return chunk

    def close(self) -> None:
        self._fp.close()
        super().close()


def _tqdm(desc: str, total: int | None, show: bool) -> Any:
    from tqdm import tqdm

    return tqdm(desc=desc, unit="bytes", unit_scale=True, total=total, disable=not show)


class ComputeSession(BaseFunction):
    """One compute session (`ComputeSession(name)`) plus listing and creation."""

    def __init__(self, name: str, owner_access_key: str | None = None) -> None:
        self.name: str | None = name
        self.owner_access_key = owner_access_key
        self.id: uuid.UUID | None = None
        self.created = False
        self.status: str | None = None
        self.service_ports: list[Any] = []
        self.domain: str | None = None
        self.group: str | None = None

    @classmethod
    def from_session_id(cls, session_id: uuid.UUID | str) -> ComputeSession:
        o = cls(str(session_id))
        o.id = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
        return o

    @property
    def _ref(self) -> str:
        return str(self.name if self.name is not None else self.id)

    def _owner_params(self) -> dict[str, str]:
        return {"owner_access_key": self.owner_access_key} if self.owner_access_key else {}

    def get_session_identity_params(self) -> dict[str, str]:
        if self.id is not None:
            return {"sessionId": str(self.id)}
        params = {"sessionName": str(self.name)}
        params.update(self._owner_params())
        return params

    # --- listing and creation ----------------------------------------------------------------

    @api_function
    @classmethod
    async def paginated_list(cls, status: str | None = None, access_key: str | None = None, *,
                             fields: Sequence[Any] = LIST_FIELDS, page_offset: int = 0, page_size: int = 20,
                             filter: str | None = None, order: str | None = None) -> PaginatedResult:
        return await paginated_query("compute_session_list", {
            "status": (status, "String"), "access_key": (access_key, "String"),
            "filter": (filter, "String"), "order": (order, "String")},
            fields, page_offset=page_offset, page_size=page_size)

    @api_function
    @classmethod
    async def hello(cls) -> Any:
        async with Request("GET", "/").fetch() as resp:
            return await resp.json()

    @api_function
    @classmethod
    async def get_or_create(
        cls, image: str, *, name: str | None = None, client_token: str | None = None,
        type_: str = "interactive", starts_at: str | None = None, enqueue_only: bool = False,
        max_wait: int = 0, no_reuse: bool = False, dependencies: Sequence[str] | None = None,
        callback_url: str | None = None, mounts: Iterable[str] | None = None,
        mount_map: Mapping[str, str] | None = None, envs: Mapping[str, str] | None = None,
        startup_command: str | None = None, resources: Mapping[str, Any] | None = None,
        resource_opts: Mapping[str, Any] | None = None, cluster_size: int = 1,
        cluster_mode: str = "single-node", domain_name: str | None = None, group_name: str | None = None,
        bootstrap_script: str | None = None, tag: str | None = None, architecture: str = "x86_64",
        scaling_group: str | None = None, owner_access_key: str | None = None,
        preopen_ports: Sequence[int] | None = None, assign_agent: Sequence[str] | None = None,
    ) -> ComputeSession:
        """Create a session, or reuse the caller's existing one with the same name
        (`client_token` is the legacy name of `name`) unless `no_reuse`."""
        session = api_session.get()
        name = name if name is not None else client_token
        if name is not None and not 4 <= len(name) <= 64:
            raise BackendClientError("the session name must be 4 to 64 characters long")
        if name is None:
            name = f"pysdk-{secrets.token_hex(5)}"
        if cluster_size < 1:
            raise BackendClientError("cluster_size must be at least 1")
        domain_name = domain_name or session.config.domain
        group_name = group_name or session.config.group
        all_mounts = [*(mounts or []), *session.config.vfolder_mounts]
        config: dict[str, Any] = {
            "mounts": all_mounts, "environ": dict(envs or {}), "resources": dict(resources or {}),
            "resource_opts": dict(resource_opts or {}), "scalingGroup": scaling_group,
            "mount_map": dict(mount_map or {}), "preopen_ports": list(preopen_ports or []),
        }
        if assign_agent is not None:
            config["agentList"] = list(assign_agent)
        body = {
            "tag": tag, "name": name, "config": config, "dependencies": dependencies,
            "callback_url": callback_url, "architecture": architecture, "clusterSize": cluster_size,
            "clusterMode": cluster_mode, "starts_at": starts_at, "bootstrap_script": bootstrap_script,
            "owner_access_key": owner_access_key, "domain": domain_name, "group": group_name, "type": type_,
            "enqueueOnly": enqueue_only, "maxWaitSeconds": max_wait, "reuseIfExists": not no_reuse,
            "startupCommand": startup_command, "image": image,
        }
        rqst = Request("POST", "/session")
        rqst.set_json(body)
        async with rqst.fetch() as resp:
            data = await resp.json()
        o = cls(name, owner_access_key)
        o.id = uuid.UUID(data["sessionId"]) if data.get("sessionId") else None
        o.created = data.get("created", True)
        o.status = data.get("status", "RUNNING")
        o.service_ports = data.get("servicePorts", [])
        o.domain, o.group = domain_name, group_name
        return o

    @api_function
    @classmethod
    async def create_from_template(cls, template_id: str, *, name: str | None = None, **overrides: Any
                                   ) -> ComputeSession:
        """Create a session from a stored session template; keyword arguments override it."""
        session = api_session.get()
        body: dict[str, Any] = {"template_id": str(template_id)}
        if name is not None:
            body["name"] = name
        mapping = {"type_": "type", "enqueue_only": "enqueueOnly", "max_wait": "maxWaitSeconds",
                   "cluster_size": "clusterSize", "cluster_mode": "clusterMode", "domain_name": "domain",
                   "group_name": "group", "startup_command": "startupCommand"}
        config_keys = {"mounts", "mount_map", "resources", "resource_opts", "scaling_group", "envs"}
        config: dict[str, Any] = {}
        for key, value in overrides.items():
            if value is None:
                continue
            if key in config_keys:
                config[{"envs": "environ", "scaling_group": "scalingGroup"}.get(key, key)] = value
            elif key == "no_reuse":
                body["reuseIfExists"] = not value
            else:
                body[mapping.get(key, key)] = value
        if config:
            body["config"] = config
        body.setdefault("domain", session.config.domain)
        body.setdefault("group", session.config.group)
        rqst = Request("POST", "/session/_/create-from-template")
        rqst.set_json(body)
        async with rqst.fetch() as resp:
            data = await resp.json()
        o = cls(data.get("sessionName") or name or str(data["sessionId"]), overrides.get("owner_access_key"))
        o.id = uuid.UUID(data["sessionId"]) if data.get("sessionId") else None
        o.created = data.get("created", True)
        o.status = data.get("status")
        o.service_ports = data.get("servicePorts", [])
        return o

    # --- lifecycle ---------------------------------------------------------------------------

    @api_function
    async def destroy(self, *, forced: bool = False, recursive: bool = False) -> Any:
        """Terminate the session (its containers are killed; running code stops)."""
        params = {**self._owner_params()}
        if forced:
            params["forced"] = "true"
        if recursive:
            params["recursive"] = "true"
        async with Request("DELETE", f"/session/{self._ref}", params=params).fetch() as resp:
            return await resp.json() if resp.status == 200 else None

    @api_function
    async def restart(self) -> None:
        async with Request("PATCH", f"/session/{self._ref}", params=self._owner_params()).fetch():
            pass

    @api_function
    async def rename(self, new_id: str) -> None:
        params = {"name": new_id, **self._owner_params()}
        async with Request("POST", f"/session/{self._ref}/rename", params=params).fetch():
            pass
        self.name = new_id

    @api_function
    async def commit(self) -> Any:
        async with Request("POST", f"/session/{self._ref}/commit", params=self._owner_params()).fetch() as resp:
            return await resp.json()

    @api_function
    async def interrupt(self) -> None:
        """Ask the running code to stop (may have no effect, depending on the code)."""
        async with Request("POST", f"/session/{self._ref}/interrupt", params=self._owner_params()).fetch():
            pass

    @api_function
    async def complete(self, code: str, opts: Mapping[str, Any] | None = None) -> Iterable[str]:
        """Auto-completion candidates for `code` at the cursor described by `opts`."""
        opts = opts or {}
        rqst = Request("POST", f"/session/{self._ref}/complete", params=self._owner_params())
        rqst.set_json({"code": code, "options": {
            "row": int(opts.get("row", 0)), "col": int(opts.get("col", 0)),
            "line": opts.get("line", ""), "post": opts.get("post", "")}})
        async with rqst.fetch() as resp:
            data = await resp.json()
        # the server wraps the candidates as {"result": [...]}; the documented return is the list
        return data.get("result", []) if isinstance(data, dict) else data  # type: ignore[no-any-return]

    @api_function
    async def get_info(self) -> dict[str, Any]:
        async with Request("GET", f"/session/{self._ref}", params=self._owner_params()).fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def get_logs(self) -> dict[str, Any]:
        """The container's console log: `{"result": {"logs": "..."}}`."""
        async with Request("GET", f"/session/{self._ref}/logs", params=self._owner_params()).fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def get_status_history(self) -> dict[str, Any]:
        async with Request("GET", f"/session/{self._ref}/status-history",
                           params=self._owner_params()).fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    @api_function
    async def get_dependency_graph(self) -> dict[str, Any]:
        async with Request("GET", f"/session/{self._ref}/dependency-graph",
                           params=self._owner_params()).fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    # --- code execution ----------------------------------------------------------------------

    @api_function
    async def execute(self, run_id: str | None = None, code: str | None = None, mode: str = "query",
                      opts: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One step of a run loop; returns the result object (`runId`, `status`, `console`...)."""
        wire_mode = _MODES.get(mode)
        if wire_mode is None:
            raise BackendClientError(f"invalid execution mode: {mode!r}")
        opts = dict(opts or {})
        body: dict[str, Any] = {"mode": wire_mode, "code": code if code is not None else "", "runId": run_id}
        if wire_mode == "batch":
            body["options"] = {"clean": opts.get("clean"), "build": opts.get("build"),
                               "buildLog": bool(opts.get("buildLog", False)), "exec": opts.get("exec")}
        elif wire_mode == "complete":
            body["options"] = {"row": int(opts.get("row", 0)), "col": int(opts.get("col", 0)),
                               "line": opts.get("line", ""), "post": opts.get("post", "")}
        elif opts:
            body["options"] = opts
        rqst = Request("POST", f"/session/{self._ref}", params=self._owner_params())
        rqst.set_json(body)
        async with rqst.fetch() as resp:
            return (await resp.json())["result"]  # type: ignore[no-any-return]

    # --- files -------------------------------------------------------------------------------

    @api_function
    async def upload(self, files: Sequence[str | Path], basedir: str | Path | None = None,
                     show_progress: bool = False) -> None:
        """Upload local files into /home/work, keeping their paths relative to `basedir`."""
        base = Path.cwd() if basedir is None else Path(basedir).resolve()
        paths = [Path(f).resolve() for f in files]
        attachments: list[AttachedFile] = []
        total = sum(p.stat().st_size for p in paths)
        with _tqdm("Uploading files", total, show_progress) as bar:
            for p in paths:
                try:
                    rel = p.relative_to(base)
                except ValueError:
                    raise BackendClientError(f'"{p}" is outside of the base directory "{base}"') from None
                attachments.append(AttachedFile(str(rel), _ProgressReader(p, bar), "application/octet-stream"))
            rqst = Request("POST", f"/session/{self._ref}/upload", params=self._owner_params())
            rqst.attach_files(attachments)
            try:
                async with rqst.fetch():
                    pass
            finally:
                for a in attachments:
                    a.stream.close()

    @api_function
    async def download(self, files: Sequence[str | Path], dest: str | Path = ".",
                       show_progress: bool = False) -> dict[str, Any]:
        """Download files from the session (paths relative to /home/work) into `dest`."""
        rqst = Request("GET", f"/session/{self._ref}/download", params=self._owner_params())
        rqst.set_json({"files": [str(f) for f in files]})
        names: list[str] = []
        async with rqst.fetch() as resp:
            reader = aiohttp.MultipartReader.from_response(resp.raw_response)
            with _tqdm("Downloading files", resp.content_length, show_progress) as bar:
                while True:
                    part = await reader.next()
                    if part is None:
                        break
                    assert isinstance(part, aiohttp.BodyPartReader)
                    with tempfile.NamedTemporaryFile(suffix=".tar", delete=False) as fp:
                        while chunk := await part.read_chunk(_CHUNK):
                            fp.write(chunk)
                            bar.update(len(chunk))
                    try:
                        with tarfile.open(fp.name) as tar:
                            tar.extractall(path=dest, filter="data")
                            names.extend(tar.getnames())
                    finally:
                        os.unlink(fp.name)
        return {"file_names": names}

    @api_function
    async def list_files(self, path: str | Path = ".") -> dict[str, Any]:
        """`{"files": "<JSON list of {filename,size,mtime,mode}>", "errors": ...}`."""
        rqst = Request("GET", f"/session/{self._ref}/files", params=self._owner_params())
        rqst.set_json({"path": str(path)})
        async with rqst.fetch() as resp:
            return await resp.json()  # type: ignore[no-any-return]

    # --- streaming (AsyncSession) ------------------------------------------------------------

    def _stream_request(self, path: str, params: Mapping[str, str] | None = None) -> Request:
        return Request("GET", path, params={**self._owner_params(), **(params or {})},
                       session=resolve_session(self))

    @api_function
    async def stream_app_info(self) -> Any:
        rqst = Request("GET", f"/stream/session/{self._ref}/apps", params=self._owner_params())
        async with rqst.fetch() as resp:
            return await resp.json()

    def listen_events(self, scope: str = "*") -> SSEContextManager:
        """The session's lifecycle events as Server-Sent Events."""
        rqst = Request("GET", "/events/session", params={**self.get_session_identity_params(), "scope": scope},
                       session=resolve_session(self))
        return rqst.connect_events()

    stream_events = listen_events

    def stream_pty(self) -> WebSocketContextManager:
        """An interactive terminal over a websocket."""
        return self._stream_request(f"/stream/session/{self._ref}/pty").connect_websocket(response_cls=StreamPty)

    def stream_execute(self, code: str = "", *, mode: str = "query",
                       opts: Mapping[str, Any] | None = None) -> WebSocketContextManager:
        """Run code over a websocket; each message is a JSON result until `finished`."""
        wire_mode = _MODES.get(mode, mode)

        async def send_code(ws: WebSocketResponse) -> None:
            await ws.send_json({"code": code, "mode": wire_mode, "options": dict(opts or {})})

        return self._stream_request(f"/stream/session/{self._ref}/execute").connect_websocket(on_enter=send_code)


Kernel = ComputeSession
