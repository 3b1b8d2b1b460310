"""Test helpers for the manager: the example keypairs and a request-signing client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp

from ai.backend.common import signing

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"

ADMIN = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
USER = ("AKIANABBDUSEREXAMPLE", "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf")
DOMAIN_ADMIN = ("AKIAHUKCHDEZGEXAMPLE", "cWbsM_vBB4CzTW7JdORRMx8SjGI3-wEXAMPLEKEY")
API_VERSION = "v7.20230615"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Response:
    status: int
    headers: Any
    body: Any
    content_type: str


class SignedClient:
    """Signs each request like the official client (ISO date, version header, HMAC-SHA256)."""

    def __init__(self, base_url: str, keypair: tuple[str, str] | None, *, api_version: str = API_VERSION) -> None:
        self.base_url = base_url.rstrip("/")
        self.keypair = keypair
        self.api_version = api_version
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, *, json_body: Any = None, params: dict[str, str] | None = None,
                      headers: dict[str, str] | None = None, date: datetime | None = None,
                      sign_method: str | None = None, secret_override: str | None = None) -> Response:
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params)
            path += "?" + urlencode(params)
        host = urlsplit(self.base_url).netloc
        content_type = "application/json"
        data = json.dumps(json_body).encode() if json_body is not None else b""
        hdrs = {"Content-Type": content_type, "X-BackendAI-Version": self.api_version,
                "X-BackendAI-Domain": "default"}
        if self.keypair is not None:
            ak, sk = self.keypair
            hdrs.update(signing.sign_headers(
                access_key=ak, secret_key=secret_override or sk, method=sign_method or method,
                path_with_query=path, host=host, content_type=content_type,
                api_version=self.api_version, now=date or datetime.now(UTC),
            ))
        hdrs.update(headers or {})
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        async with self.session.request(method, url, data=data, headers=hdrs) as resp:
            raw = await resp.read()
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError:
                body = raw.decode(errors="replace")
            return Response(resp.status, resp.headers, body, resp.content_type)

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = await self.request("POST", "/admin/gql", json_body={"query": query, "variables": variables or {}})
        assert resp.status == 200, resp.body
        return resp.body


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of a tabulate "simple" table (header, dashes, rows) as dicts by header."""
    lines = [line for line in text.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if i > 0 and set(line.strip()) <= {"-", " "} and "-" in line:
            header, dashes, rows = lines[i - 1], line, lines[i + 1:]
            break
    else:
        raise AssertionError(f"no table in:\n{text}")
    spans: list[tuple[int, int]] = []
    start = None
    for pos, ch in enumerate(dashes + " "):
        if ch == "-" and start is None:
            start = pos
        elif ch != "-" and start is not None:
            spans.append((start, pos))
            start = None
    bounds = [(s, spans[n + 1][0] if n + 1 < len(spans) else None) for n, (s, _) in enumerate(spans)]
    names = [header[s:e].strip() for s, e in bounds]
    return [{name: row[s:e].strip() for name, (s, e) in zip(names, bounds, strict=True)} for row in rows]


def subprocess_env() -> dict[str, str]:
    """Environment for running our own Python modules in a subprocess (as Pants tests see them)."""
    import os
    import sys

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
