"""The client side of the REST execute loop, as the SDK examples write it, over SignedClient."""

from __future__ import annotations

from typing import Any

from manager.helpers import SignedClient


async def execute_loop(client: SignedClient, session: str, code: str, *, mode: str = "query",
                       opts: dict[str, Any] | None = None, inputs: list[str] | None = None,
                       run_id: str | None = None, max_calls: int = 200) -> list[dict[str, Any]]:
    """Every result of one run, calling continue/input until "finished" (like the SDK example)."""
    inputs = list(inputs or [])
    opts = dict(opts or {})
    results: list[dict[str, Any]] = []
    for _ in range(max_calls):
        body: dict[str, Any] = {"mode": mode, "code": code, "runId": run_id}
        if opts:
            body["options"] = opts
        resp = await client.request("POST", f"/session/{session}", json_body=body)
        assert resp.status == 200, (resp.status, resp.body)
        assert resp.content_type == "application/json"
        result = resp.body["result"]
        results.append(result)
        run_id = result["runId"]
        opts = {}
        if result["status"] in ("finished", "exec-timeout"):
            return results
        if result["status"] == "waiting-input":
            mode, code = "input", inputs.pop(0)
        else:
            mode, code = "continue", ""
    raise AssertionError(f"the run did not finish in {max_calls} calls: {results[-3:]}")


def console_text(results: list[dict[str, Any]], stream: str = "stdout") -> str:
    return "".join(data for r in results for kind, data in r["console"] if kind == stream)


def signed_headers(client: SignedClient, method: str, path_with_query: str, *,
                   content_type: str = "application/octet-stream") -> dict[str, str]:
    """Headers for a request the official client signs without a body (websocket, SSE)."""
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    from ai.backend.common import signing

    assert client.keypair is not None
    ak, sk = client.keypair
    hdrs = {"X-BackendAI-Version": client.api_version, "X-BackendAI-Domain": "default"}
    hdrs.update(signing.sign_headers(
        access_key=ak, secret_key=sk, method=method, path_with_query=path_with_query,
        host=urlsplit(client.base_url).netloc, content_type=content_type,
        api_version=client.api_version, now=datetime.now(UTC),
    ))
    return hdrs


async def upload(client: SignedClient, session: str, files: list[tuple[str, bytes]],
                 params: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST /session/{session}/upload with one part named `src` per (filename, data)."""
    import json
    from urllib.parse import urlencode

    import aiohttp

    path = f"/session/{session}/upload" + (("?" + urlencode(params)) if params else "")
    form = aiohttp.FormData()
    for name, data in files:
        form.add_field("src", data, filename=name, content_type="application/octet-stream")
    hdrs = signed_headers(client, "POST", path, content_type="multipart/form-data")
    async with client.session.post(client.base_url + path, data=form, headers=hdrs) as resp:
        raw = await resp.read()
        return resp.status, (json.loads(raw) if raw else None)


async def download(client: SignedClient, session: str, files: list[str]) -> tuple[int, Any]:
    """GET /session/{session}/download with a JSON body; the tar parts of the multipart reply."""
    import json

    import aiohttp

    path = f"/session/{session}/download"
    hdrs = signed_headers(client, "GET", path, content_type="application/json")
    hdrs["Content-Type"] = "application/json"
    async with client.session.get(client.base_url + path, data=json.dumps({"files": files}), headers=hdrs) as resp:
        if resp.status != 200:
            return resp.status, json.loads(await resp.read())
        assert resp.content_type.startswith("multipart/")
        reader = aiohttp.MultipartReader.from_response(resp)
        parts: list[bytes] = []
        while (part := await reader.next()) is not None:
            assert isinstance(part, aiohttp.BodyPartReader)
            assert part.headers.get("Content-Type") == "application/x-tar"
            parts.append(bytes(await part.read()))
        return 200, parts


class SSEStream:
    """An open signed SSE request; `next()` parses one `event:`/`data:` message."""

    def __init__(self, resp: Any) -> None:
        self.resp = resp

    async def next(self, timeout: float = 20.0) -> tuple[str, Any]:
        import asyncio
        import json

        event, data_lines = "message", list[str]()
        while True:
            line = await asyncio.wait_for(self.resp.content.readline(), timeout)
            if not line:
                raise EOFError("the server closed the stream")
            text = line.decode().rstrip("\r\n")
            if text.startswith(":"):
                continue
            if not text:
                if data_lines:
                    return event, json.loads("\n".join(data_lines))
                continue
            key, _, value = text.partition(":")
            if key == "event":
                event = value.lstrip()
            elif key == "data":
                data_lines.append(value.lstrip())

    async def until_close(self, timeout: float = 20.0) -> list[tuple[str, Any]]:
        out = []
        while True:
            name, data = await self.next(timeout)
            out.append((name, data))
            if name == "server_close":
                return out


def open_sse(client: SignedClient, path: str, params: dict[str, str]) -> Any:
    """`async with open_sse(...) as resp:` -- signed like the official client's event streams."""
    from yarl import URL

    url = URL(client.base_url + path).with_query(params)
    return client.session.get(url, headers=signed_headers(client, "GET", url.raw_path_qs))
