"""Client-facing API: token-authorised downloads and tus 1.0 uploads.

    GET|HEAD /download?token=T   a file (Range / If-Range -> 206) or, for a directory token,
                                 a zip archive streamed on the fly
    HEAD     /upload?token=T     tus: the current Upload-Offset
    PATCH    /upload?token=T     tus: append a chunk at Upload-Offset; 204 with the new offset
    OPTIONS  /upload             tus: protocol discovery (and CORS preflight)

The token is the only credential and names the single file or directory; other query
parameters cannot redirect a request elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import urllib.parse
from collections.abc import AsyncIterator

from aiohttp import hdrs, web

from ai.backend.common.storage_types import VFolderID

from .. import __version__
from ..archive import stream_zip
from ..context import CTX_KEY, RootContext, ctx_of
from ..errors import InvalidAPIParameters, StorageError, TusVersionUnsupported, UnsupportedMediaType
from ..httprange import (
    RangeNotSatisfiable,
    etag_of,
    if_range_matches,
    last_modified_of,
    parse_range,
)
from ..paths import opened
from ..volumes.abc import EntryType
from .common import Handler, problem_middleware

TUS_VERSION = "1.0.0"
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION}
_CORS_ALLOW_HEADERS = ", ".join([
    "Tus-Resumable", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Content-Type",
    "Range", "If-Range", "X-Requested-With", "X-HTTP-Method-Override",
])
_CORS_EXPOSE_HEADERS = ", ".join([
    "Tus-Resumable", "Tus-Version", "Tus-Max-Size", "Tus-Extension", "Upload-Offset",
    "Upload-Length", "Content-Length", "Content-Range", "Content-Disposition", "Last-Modified",
    "ETag", "Accept-Ranges",
])
_FORBIDDEN_PARAMS = ("dst_dir",)
READ_CHUNK = 4 * 1024 * 1024

log = logging.getLogger(__name__)


@web.middleware
async def cors_preflight_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer CORS preflights; the headers themselves are added by add_cors_headers."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(status=204)
    return await handler(request)


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Tokens ride in the URL (no cookies), so any origin may call; browsers need these on
    every response, also on streamed downloads (hence on_response_prepare, not a middleware)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, PATCH, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = _CORS_ALLOW_HEADERS
    response.headers["Access-Control-Expose-Headers"] = _CORS_EXPOSE_HEADERS


def _check_params(request: web.Request) -> str | None:
    for name in _FORBIDDEN_PARAMS:
        if name in request.query:
            raise InvalidAPIParameters(f"the {name} parameter is not supported: the token names the target")
    return request.query.get("token")


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode().replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(filename)}"


async def status(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "type": "client-facing", "storage-proxy": __version__})


# --- downloads ----------------------------------------------------------------------------

async def download(request: web.Request) -> web.StreamResponse:
    ctx = ctx_of(request)
    token = ctx.tokens.decode_download(_check_params(request))
    volume = ctx.volumes.get(token.volume)
    entry = await volume.fsops.stat(token.vfid, token.relpath)
    if entry.type == EntryType.DIRECTORY:
        if not token.archive:
            raise InvalidAPIParameters(f"{token.relpath}: is a directory")
        return await _send_archive(request, ctx, token.volume, token.vfid, token.relpath)
    opened_file = await volume.fsops.open_file(token.vfid, token.relpath)
    with opened(opened_file.fd):
        return await _send_file(request, opened_file.fd, opened_file.stat, opened_file.name)


async def _send_file(request: web.Request, fd: int, st: os.stat_result, name: str) -> web.StreamResponse:
    size = st.st_size
    start, end, status_code = 0, size, 200
    headers = {
        hdrs.ACCEPT_RANGES: "bytes",
        hdrs.LAST_MODIFIED: last_modified_of(st),
        hdrs.ETAG: etag_of(st),
        hdrs.CONTENT_TYPE: "application/octet-stream",
        hdrs.CONTENT_DISPOSITION: _disposition(name),
        hdrs.CACHE_CONTROL: "no-store",
    }
    range_header = request.headers.get(hdrs.RANGE)
    if range_header is not None:
        if_range = request.headers.get(hdrs.IF_RANGE)
        if if_range is None or if_range_matches(if_range, st):
            try:
                rng = parse_range(range_header, size)
            except RangeNotSatisfiable as e:
                e.headers[hdrs.ACCEPT_RANGES] = "bytes"
                raise
            if rng is not None:
                start, end, status_code = rng[0], rng[1], 206
                headers[hdrs.CONTENT_RANGE] = f"bytes {start}-{end - 1}/{size}"
    resp = web.StreamResponse(status=status_code, headers=headers)
    resp.content_length = end - start
    await resp.prepare(request)
    if request.method != "HEAD" and end > start:
        transport = request.transport
        if transport is None:
            raise ConnectionResetError("the client went away")
        try:
            await _stream_file(resp, transport, fd, start, end - start)
        except ConnectionError:
            log.debug("download of %s interrupted by the client", name)
            return resp
    await resp.write_eof()
    return resp


async def _stream_file(resp: web.StreamResponse, transport: asyncio.Transport, fd: int,
                       offset: int, count: int) -> None:
    """sendfile(2) when the event loop can (asyncio); otherwise (uvloop, TLS) read in a
    thread and write, with the same result."""
    loop = asyncio.get_running_loop()
    with os.fdopen(os.dup(fd), "rb") as fobj:
        try:
            await loop.sendfile(transport, fobj, offset, count)
            return
        except NotImplementedError:
            pass
    end = offset + count
    while offset < end:
        chunk = await loop.run_in_executor(None, os.pread, fd, min(READ_CHUNK, end - offset), offset)
        if not chunk:
            raise ConnectionError("the file shrank while it was being sent")
        await resp.write(chunk)
        offset += len(chunk)


async def _send_archive(request: web.Request, ctx: RootContext, volume_name: str, vfid: VFolderID,
                        relpath: str) -> web.StreamResponse:
    volume = ctx.volumes.get(volume_name)
    name = (relpath.rstrip("/").rsplit("/", 1)[-1] or "download") if relpath.strip("./") else "download"
    resp = web.StreamResponse(status=200, headers={
        hdrs.CONTENT_TYPE: "application/zip",
        hdrs.CONTENT_DISPOSITION: _disposition(f"{name}.zip"),
        hdrs.CACHE_CONTROL: "no-store",
    })
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    if request.method == "HEAD":
        return resp
    chunks: AsyncIterator[bytes] = stream_zip(lambda: volume.fsops.walk_for_archive(vfid, relpath))
    try:
        async for chunk in chunks:
            await resp.write(chunk)
    except ConnectionError:
        log.debug("archive download of %s interrupted by the client", relpath)
        return resp
    except Exception:
        # the status line is gone already: cut the chunked stream so the client sees a failure
        log.exception("archive download of %s failed", relpath)
        if request.transport is not None:
            request.transport.close()
        return resp
    await resp.write_eof()
    return resp


# --- tus uploads --------------------------------------------------------------------------

def _check_tus_version(request: web.Request) -> None:
    version = request.headers.get("Tus-Resumable")
    if version != TUS_VERSION:
        raise TusVersionUnsupported(
            f"Tus-Resumable must be {TUS_VERSION} (got {version!r})",
            headers={**TUS_HEADERS, "Tus-Version": TUS_VERSION},
        )


async def tus_options(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    return web.Response(status=204, headers={
        **TUS_HEADERS, "Tus-Version": TUS_VERSION, "Tus-Extension": "",
        "Tus-Max-Size": str(ctx.uploads.max_upload_size),
    })


async def tus_head(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    token = ctx.tokens.decode_upload(_check_params(request))
    volume = ctx.volumes.get(token.volume)
    offset = await ctx.uploads.offset(volume, token)
    return web.Response(status=200, headers={
        **TUS_HEADERS, "Upload-Offset": str(offset), "Upload-Length": str(token.size),
        hdrs.CACHE_CONTROL: "no-store",
    })


async def tus_patch(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    token = ctx.tokens.decode_upload(_check_params(request))
    _check_tus_version(request)
    if request.content_type != "application/offset+octet-stream":
        raise UnsupportedMediaType(
            f"Content-Type must be application/offset+octet-stream (got {request.content_type!r})",
            headers=TUS_HEADERS,
        )
    raw_offset = request.headers.get("Upload-Offset")
    if raw_offset is None or not raw_offset.isdigit():
        raise InvalidAPIParameters(f"Upload-Offset must be a non-negative integer (got {raw_offset!r})",
                                   headers=TUS_HEADERS)
    volume = ctx.volumes.get(token.volume)
    try:
        new_offset = await ctx.uploads.write(volume, token, int(raw_offset), request.content_length,
                                             request.content.iter_any())
    except StorageError as e:
        e.headers.update(TUS_HEADERS)
        raise
    return web.Response(status=204, headers={**TUS_HEADERS, "Upload-Offset": str(new_offset)})


def create_app(ctx: RootContext) -> web.Application:
    app = web.Application(middlewares=[cors_preflight_middleware, problem_middleware])
    app.on_response_prepare.append(add_cors_headers)
    app[CTX_KEY] = ctx
    app.router.add_route("GET", "/", status)
    app.router.add_get("/download", download)  # also answers HEAD
    app.router.add_route("OPTIONS", "/download", tus_options)
    app.router.add_route("OPTIONS", "/upload", tus_options)
    app.router.add_route("HEAD", "/upload", tus_head)
    app.router.add_route("PATCH", "/upload", tus_patch)
    return app
