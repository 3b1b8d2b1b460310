"""`/folders/{name}/...` file operations and upload/download tokens (bytes go to the storage proxy)."""

from __future__ import annotations

from typing import Any

import trafaret as t
from aiohttp import web

from ..errors import InvalidAPIParameters
from ..services import vfolder_files
from .utils import auth_required, check_params, json_response, root_ctx, server_status_required
from .vfolder_params import accessor, path_t

routes = web.RouteTableDef()


@routes.post("/folders/{name}/mkdir")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("path"): path_t, t.Key("parents", default=False): t.ToBool, t.Key("exist_ok", default=False): t.ToBool,
}).allow_extra("*"))
async def mkdir(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolder_files.mkdir(root_ctx(request), accessor(request), request.match_info["name"], params["path"],
                              parents=params["parents"], exist_ok=params["exist_ok"])
    return json_response({}, status=201)


@routes.get("/folders/{name}/files")
@auth_required
@check_params(t.Dict({t.Key("path", default="."): t.Null | path_t}).allow_extra("*"))
async def list_files(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await vfolder_files.list_files(root_ctx(request), accessor(request),
                                                        request.match_info["name"], params["path"] or "."))


@routes.post("/folders/{name}/rename-file")
@routes.post("/folders/{name}/rename_file")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("target_path"): path_t, t.Key("new_name"): t.String, t.Key("is_dir", default=False): t.ToBool,
}).allow_extra("*"))
async def rename_file(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolder_files.rename_file(root_ctx(request), accessor(request), request.match_info["name"],
                                    params["target_path"], params["new_name"])
    return json_response({})


@routes.post("/folders/{name}/move-file")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("src"): path_t, t.Key("dst"): path_t}).allow_extra("*"))
async def move_file(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolder_files.move_file(root_ctx(request), accessor(request), request.match_info["name"],
                                  params["src"], params["dst"])
    return json_response({})


@routes.delete("/folders/{name}/delete-files")
@routes.delete("/folders/{name}/delete_files")
@auth_required
@server_status_required()
@check_params(t.Dict({
    t.Key("files"): t.List(path_t, min_length=1), t.Key("recursive", default=False): t.ToBool,
}).allow_extra("*"))
async def delete_files(request: web.Request, params: dict[str, Any]) -> web.Response:
    await vfolder_files.delete_files(root_ctx(request), accessor(request), request.match_info["name"],
                                     params["files"], recursive=params["recursive"])
    return json_response({})


@routes.post("/folders/{name}/request-upload")
@auth_required
@server_status_required()
@check_params(t.Dict({t.Key("path"): path_t, t.Key("size"): t.ToInt(gte=0)}).allow_extra("*"))
async def request_upload(request: web.Request, params: dict[str, Any]) -> web.Response:
    return json_response(await vfolder_files.request_upload(root_ctx(request), accessor(request),
                                                            request.match_info["name"], params["path"], params["size"]))


@routes.post("/folders/{name}/request-download")
@auth_required
@check_params(t.Dict({
    t.Key("path", optional=True): path_t, t.Key("file", optional=True): path_t,
    t.Key("archive", default=False): t.ToBool,
}).allow_extra("*"))
async def request_download(request: web.Request, params: dict[str, Any]) -> web.Response:
    path = params.get("path", params.get("file"))
    if path is None:
        raise InvalidAPIParameters("path: the file to download is required")
    return json_response(await vfolder_files.request_download(root_ctx(request), accessor(request),
                                                              request.match_info["name"], path,
                                                              archive=params["archive"]))
