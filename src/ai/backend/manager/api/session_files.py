"""`/session/{name}/upload|download|files|logs` (and the legacy `/kernel/...` paths)."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote

import trafaret as t
from aiohttp import BodyPartReader, MultipartWriter, web

from ..errors import InvalidAPIParameters
from ..services import session_files
from ..services.session_target import KernelTarget, find_target
from .utils import (
    auth_required,
    check_params,
    json_response,
    resolve_owner,
    root_ctx,
    server_status_required,
)

routes = web.RouteTableDef()
owner_t = t.Key("owner_access_key", optional=True)


async def _target(request: web.Request, owner_access_key: str | None, *, require_running: bool = True) -> KernelTarget:
    owner = await resolve_owner(request, owner_access_key or None)
    return await find_target(root_ctx(request), owner.access_key, request.match_info["session_name"],
                             require_running=require_running)


async def _read_upload(request: web.Request) -> list[session_files.UploadedFile]:
    """Every part named `src`, read whole (bounded) and path-checked before any is written."""
    if not request.content_type.startswith("multipart/"):
        raise InvalidAPIParameters("the upload must be multipart/form-data with parts named 'src'")
    reader = await request.multipart()
    files: list[session_files.UploadedFile] = []
    limit = session_files.MAX_UPLOAD_FILE_SIZE
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name != "src":
            raise InvalidAPIParameters(f"unexpected part {getattr(part, 'name', None)!r}; file parts are named 'src'")
        if not part.filename:
            raise InvalidAPIParameters("each 'src' part needs a filename (its path under /home/work)")
        # aiohttp clients (the official one included) percent-encode the filename
        name = unquote(part.filename)
        path = session_files.confine(name, what="filename")
        buf = io.BytesIO()
        while chunk := await part.read_chunk(256 * 1024):
            buf.write(chunk)
            if buf.tell() > limit:
                raise session_files.UploadTooLarge(f"{name}: larger than {limit} bytes per file")
        files.append(session_files.UploadedFile(path, buf.getvalue()))
        if len(files) > session_files.MAX_UPLOAD_FILES:
            raise InvalidAPIParameters(f"too many files: more than {session_files.MAX_UPLOAD_FILES} per request")
    return files


@routes.post("/session/{session_name}/upload")
@routes.post("/kernel/{session_name}/upload")
@auth_required
@server_status_required()
async def upload(request: web.Request) -> web.Response:
    target = await _target(request, request.query.get("owner_access_key"))
    files = await _read_upload(request)
    await session_files.upload(root_ctx(request), target, files)
    return web.Response(status=204)


@routes.get("/session/{session_name}/download")
@routes.get("/kernel/{session_name}/download")
@auth_required
@check_params(t.Dict({t.Key("files"): t.List(t.String), owner_t: t.Null | t.String}).allow_extra("*"))
async def download(request: web.Request, params: dict[str, Any]) -> web.StreamResponse:
    target = await _target(request, params.get("owner_access_key"))
    archives = await session_files.download(root_ctx(request), target, params["files"])
    with MultipartWriter("mixed") as mpw:
        for rel, tar in archives:
            part = mpw.append(tar, {"Content-Type": "application/x-tar"})
            part.set_content_disposition("attachment", filename=rel.rsplit("/", 1)[-1] + ".tar")
    return web.Response(body=mpw, status=200)


@routes.get("/session/{session_name}/files")
@routes.get("/kernel/{session_name}/files")
@auth_required
@check_params(t.Dict({t.Key("path", optional=True): t.Null | t.String(allow_blank=True), owner_t: t.Null | t.String})
              .allow_extra("*"))
async def list_files(request: web.Request, params: dict[str, Any]) -> web.Response:
    target = await _target(request, params.get("owner_access_key"))
    return json_response(await session_files.list_files(root_ctx(request), target, params.get("path")))


@routes.get("/session/{session_name}/logs")
@routes.get("/kernel/{session_name}/logs")
@auth_required
@check_params(t.Dict({owner_t: t.Null | t.String}).allow_extra("*"))
async def logs(request: web.Request, params: dict[str, Any]) -> web.Response:
    target = await _target(request, params.get("owner_access_key"), require_running=False)
    return json_response({"result": {"logs": await session_files.logs(root_ctx(request), target)}})
