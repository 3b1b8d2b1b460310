"""Shared state of the `mgr` commands: the config file (loaded on first use) and how to run
async work from click."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from ai.backend.common.config import ConfigError
from ai.backend.common.etcd import AsyncEtcd
from ai.backend.common.logging import setup_logging

from .. import config as manager_config
from ..errors import BackendError
from ..models.dbutils import create_engine, url_from_config

T = TypeVar("T")


@dataclass
class CLIContext:
    config_path: str | None
    debug: bool
    _config: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def local_config(self) -> dict[str, Any]:
        if self._config is None:
            try:
                self._config = manager_config.load(self.config_path, debug=self.debug)
            except ConfigError as e:
                raise click.ClickException(str(e)) from None
            setup_logging({"level": "WARNING", "drivers": ["console"],
                           "pkg-ns": {"": "WARNING", "ai.backend": "INFO"}}, debug=self.debug, service="mgr")
        return self._config

    @property
    def db_url(self) -> str:
        return url_from_config(self.local_config["db"])

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(self.db_url, pool_size=2, max_overflow=2)
        try:
            yield engine
        finally:
            await engine.dispose()

    @asynccontextmanager
    async def etcd(self) -> AsyncIterator[AsyncEtcd]:
        cfg = self.local_config["etcd"]
        etcd = AsyncEtcd(cfg["addr"], cfg["namespace"], user=cfg.get("user") or None,
                         password=cfg.get("password") or None)
        try:
            yield etcd
        finally:
            await etcd.close()


pass_ctx = click.make_pass_decorator(CLIContext)


def run(coro: Coroutine[Any, Any, T] | Awaitable[T]) -> T:
    """Run a coroutine; backend errors become clean CLI errors (exit code 1)."""
    async def _main() -> T:
        return await coro

    try:
        return asyncio.run(_main())
    except BackendError as e:
        raise click.ClickException(str(e)) from None
    except (OSError, ConnectionError) as e:
        raise click.ClickException(f"{type(e).__name__}: {e}") from None
