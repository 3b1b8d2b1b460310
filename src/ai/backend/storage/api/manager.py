"""Manager-facing API: volumes, quota scopes, vfolders, file operations and token issuing.

Every request carries the shared secret of `[api.manager] secret` in the
`X-BackendAI-Storage-Auth-Token` header. Bodies are JSON objects; vfolders are named by
`volume` + `vfid` ("user:<uuid>/<folder hex>"), quota scopes by `volume` + `qsid`.
The typed client for this API is ai.backend.common.storage_proxy_client.
"""

from __future__ import annotations

import hmac
from typing import Any

import trafaret as t
from aiohttp import web

from .. import __version__
from ..context import CTX_KEY, RootContext, ctx_of
from ..errors import AuthorizationFailed, FileNotFound, InvalidAPIParameters, VFolderNotFound
from ..volumes.abc import AbstractVolume, EntryType
from .common import (
    Handler,
    QuotaScopeIDTrafaret,
    VFolderIDTrafaret,
    json_ok,
    problem_middleware,
    read_json,
)

AUTH_HEADER = "X-BackendAI-Storage-Auth-Token"

_volume = {t.Key("volume"): t.String}
_vfolder = {**_volume, t.Key("vfid"): VFolderIDTrafaret()}
_qscope = {**_volume, t.Key("qsid"): QuotaScopeIDTrafaret()}
_limit = t.Null | t.Int(gte=0)
_relpath = t.String(allow_blank=True, max_length=4096)


def _schema(fields: dict[t.Key, t.Trafaret]) -> t.Dict:
    return t.Dict(fields)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get(AUTH_HEADER, "")
    expected = ctx_of(request).manager_secret
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise AuthorizationFailed(f"missing or wrong {AUTH_HEADER} header")
    return await handler(request)


def _vol(ctx: RootContext, name: str) -> AbstractVolume:
    return ctx.volumes.get(name)


async def status(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    return json_ok({"status": "ok", "type": "manager-facing", "storage-proxy": __version__,
                    "node_id": ctx.node_id, "proxy_name": ctx.proxy_name})


async def list_volumes(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    return json_ok({"volumes": [
        {"name": v.name, "backend": v.backend, "path": str(v.path),
         "capabilities": sorted(c.value for c in v.capabilities)}
        for v in ctx.volumes
    ]})


async def fs_usage(request: web.Request) -> web.Response:
    p = await read_json(request, _schema(_volume))
    usage = await _vol(ctx_of(request), p["volume"]).get_fs_usage()
    return json_ok({"capacity_bytes": usage.capacity_bytes, "used_bytes": usage.used_bytes})


# --- quota scopes -------------------------------------------------------------------------

async def quota_scope_create(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({**_qscope, t.Key("limit_bytes", default=None): _limit}))
    await _vol(ctx_of(request), p["volume"]).quota_model.create_quota_scope(p["qsid"], p["limit_bytes"])
    return json_ok(status=201)


async def quota_scope_get(request: web.Request) -> web.Response:
    p = await read_json(request, _schema(_qscope))
    usage = await _vol(ctx_of(request), p["volume"]).quota_model.describe_quota_scope(p["qsid"])
    return json_ok({"used_bytes": usage.used_bytes, "limit_bytes": usage.limit_bytes})


async def quota_scope_update(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({**_qscope, t.Key("limit_bytes"): _limit}))
    await _vol(ctx_of(request), p["volume"]).quota_model.update_quota_scope(p["qsid"], p["limit_bytes"])
    return json_ok()


async def quota_scope_delete(request: web.Request) -> web.Response:
    p = await read_json(request, _schema(_qscope))
    await _vol(ctx_of(request), p["volume"]).quota_model.delete_quota_scope(p["qsid"])
    return json_ok()


# --- vfolders -----------------------------------------------------------------------------

async def folder_create(request: web.Request) -> web.Response:
    p = await read_json(request, _schema(_vfolder))
    vol = _vol(ctx_of(request), p["volume"])
    await vol.create_vfolder(p["vfid"])
    return json_ok({"vfid": str(p["vfid"]), "path": str(vol.mangle_vfpath(p["vfid"]))}, status=201)


async def folder_delete(request: web.Request) -> web.Response:
    p = await read_json(request, _schema(_vfolder))
    await _vol(ctx_of(request), p["volume"]).delete_vfolder(p["vfid"])
    return json_ok()


async def folder_clone(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({
        t.Key("src_volume"): t.String, t.Key("src_vfid"): VFolderIDTrafaret(),
        t.Key("dst_volume"): t.String, t.Key("dst_vfid"): VFolderIDTrafaret(),
    }))
    ctx = ctx_of(request)
    src, dst = _vol(ctx, p["src_volume"]), _vol(ctx, p["dst_volume"])
    await src.clone_vfolder(p["src_vfid"], dst, p["dst_vfid"])
    return json_ok({"vfid": str(p["dst_vfid"]), "path": str(dst.mangle_vfpath(p["dst_vfid"]))}, status=201)


async def folder_mount(request: web.Request) -> web.Response:
    """The vfolder's absolute path on the storage host (agents bind-mount the same path)."""
    p = await read_json(request, _schema(_vfolder))
    vol = _vol(ctx_of(request), p["volume"])
    if not await vol.vfolder_exists(p["vfid"]):
        raise VFolderNotFound(f"vfolder {p['vfid']} does not exist on volume {vol.name!r}")
    return json_ok({"path": str(vol.mangle_vfpath(p["vfid"]))})


async def folder_metadata_get(request: web.Request) -> web.Response:
    p = await read_json(request, _schema(_vfolder))
    payload = await _vol(ctx_of(request), p["volume"]).get_metadata(p["vfid"])
    return json_ok({"payload": payload.decode("utf-8", errors="replace")})


async def folder_metadata_put(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({**_vfolder, t.Key("payload"): t.String(allow_blank=True)}))
    await _vol(ctx_of(request), p["volume"]).put_metadata(p["vfid"], p["payload"].encode())
    return json_ok()


async def folder_usage(request: web.Request) -> web.Response:
    p = await read_json(request, _schema(_vfolder))
    usage = await _vol(ctx_of(request), p["volume"]).get_usage(p["vfid"])
    return json_ok({"file_count": usage.file_count, "used_bytes": usage.used_bytes})


async def folder_used_bytes(request: web.Request) -> web.Response:
    p = await read_json(request, _schema(_vfolder))
    usage = await _vol(ctx_of(request), p["volume"]).get_usage(p["vfid"])
    return json_ok({"used_bytes": usage.used_bytes})


# --- files --------------------------------------------------------------------------------

async def file_mkdir(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({
        **_vfolder, t.Key("relpath"): _relpath,
        t.Key("parents", default=False): t.Bool, t.Key("exist_ok", default=False): t.Bool,
    }))
    await _vol(ctx_of(request), p["volume"]).fsops.mkdir(
        p["vfid"], p["relpath"], parents=p["parents"], exist_ok=p["exist_ok"])
    return json_ok(status=201)


async def file_list(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({**_vfolder, t.Key("relpath", default="."): _relpath}))
    ctx = ctx_of(request)
    listing = await _vol(ctx, p["volume"]).fsops.scandir(p["vfid"], p["relpath"], limit=ctx.scandir_limit)
    return json_ok({"items": [e.to_json() for e in listing.entries], "truncated": listing.truncated})


async def file_stat(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({**_vfolder, t.Key("relpath"): _relpath}))
    entry = await _vol(ctx_of(request), p["volume"]).fsops.stat(p["vfid"], p["relpath"])
    return json_ok(entry.to_json())


async def file_rename(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({**_vfolder, t.Key("relpath"): _relpath, t.Key("new_name"): t.String}))
    await _vol(ctx_of(request), p["volume"]).fsops.rename(p["vfid"], p["relpath"], p["new_name"])
    return json_ok()


async def file_move(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({
        **_vfolder, t.Key("src_relpath"): _relpath, t.Key("dst_relpath"): _relpath,
    }))
    await _vol(ctx_of(request), p["volume"]).fsops.move(p["vfid"], p["src_relpath"], p["dst_relpath"])
    return json_ok()


async def file_delete(request: web.Request) -> web.Response:
    p = await read_json(request, _schema({
        **_vfolder, t.Key("relpaths"): t.List(_relpath, min_length=1),
        t.Key("recursive", default=False): t.Bool,
    }))
    await _vol(ctx_of(request), p["volume"]).fsops.delete(p["vfid"], p["relpaths"], recursive=p["recursive"])
    return json_ok()


async def file_upload(request: web.Request) -> web.Response:
    """Issue an upload token and open its session (a zero-byte file is created at once)."""
    p = await read_json(request, _schema({**_vfolder, t.Key("relpath"): _relpath, t.Key("size"): t.Int(gte=0)}))
    ctx = ctx_of(request)
    vol = _vol(ctx, p["volume"])
    if not await vol.vfolder_exists(p["vfid"]):
        raise VFolderNotFound(f"vfolder {p['vfid']} does not exist on volume {vol.name!r}")
    token, info = ctx.tokens.issue_upload(vol.name, p["vfid"], p["relpath"], p["size"])
    await ctx.uploads.create(vol, info)
    return json_ok({"token": token, "session": info.session, "expires_at": info.expires_at.isoformat(),
                    "url_path": "/upload"})


async def file_download(request: web.Request) -> web.Response:
    """Issue a download token for an existing file (or a directory when `archive` is set)."""
    p = await read_json(request, _schema({
        **_vfolder, t.Key("relpath"): _relpath, t.Key("archive", default=False): t.Bool,
    }))
    ctx = ctx_of(request)
    vol = _vol(ctx, p["volume"])
    entry = await vol.fsops.stat(p["vfid"], p["relpath"])
    if entry.type == EntryType.DIRECTORY and not p["archive"]:
        raise InvalidAPIParameters(f"{p['relpath']}: is a directory; set archive to download it as a zip")
    if entry.type not in (EntryType.FILE, EntryType.DIRECTORY):
        raise FileNotFound(f"{p['relpath']}: not a regular file or directory")
    token, info = ctx.tokens.issue_download(vol.name, p["vfid"], p["relpath"],
                                            archive=entry.type == EntryType.DIRECTORY)
    return json_ok({"token": token, "expires_at": info.expires_at.isoformat(), "url_path": "/download",
                    "archive": info.archive, "size": entry.size if entry.type == EntryType.FILE else None})


ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/", status),
    ("GET", "/volumes", list_volumes),
    ("POST", "/volume/fs-usage", fs_usage),
    ("POST", "/quota-scope/create", quota_scope_create),
    ("POST", "/quota-scope/get", quota_scope_get),
    ("POST", "/quota-scope/update", quota_scope_update),
    ("POST", "/quota-scope/delete", quota_scope_delete),
    ("POST", "/folder/create", folder_create),
    ("POST", "/folder/delete", folder_delete),
    ("POST", "/folder/clone", folder_clone),
    ("POST", "/folder/mount", folder_mount),
    ("POST", "/folder/metadata/get", folder_metadata_get),
    ("POST", "/folder/metadata/put", folder_metadata_put),
    ("POST", "/folder/usage", folder_usage),
    ("POST", "/folder/used-bytes", folder_used_bytes),
    ("POST", "/folder/fs-usage", fs_usage),
    ("POST", "/folder/file/mkdir", file_mkdir),
    ("POST", "/folder/file/list", file_list),
    ("POST", "/folder/file/stat", file_stat),
    ("POST", "/folder/file/rename", file_rename),
    ("POST", "/folder/file/move", file_move),
    ("POST", "/folder/file/delete", file_delete),
    ("POST", "/folder/file/upload", file_upload),
    ("POST", "/folder/file/download", file_download),
]


def create_app(ctx: RootContext) -> web.Application:
    app = web.Application(middlewares=[problem_middleware, auth_middleware], client_max_size=1024 * 1024)
    app[CTX_KEY] = ctx
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app
