"""The storage proxy process: two HTTP APIs over the configured volumes, registered in etcd.

    client API  ([api.client])   token-authorised downloads and tus uploads for users
    manager API ([api.manager])  vfolder management for the manager (shared secret)

On start it registers itself as the install guide shows:
volumes/proxies/NAME/{client_api,manager_api,secret,ssl_verify} and volumes/default_host.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import ssl
from contextlib import suppress
from typing import Any

from aiohttp import web

from ai.backend.common.etcd import AsyncEtcd

from .api import client as client_api
from .api import manager as manager_api
from .config import announce_url, file_owner
from .context import RootContext
from .tokens import TokenCodec
from .tus import UploadSessions
from .volumes.pool import VolumePool

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 600.0
READ_BUFSIZE = 4 * 1024 * 1024  # request bodies (tus chunks) are read in large pieces


def _ssl_context(api: dict[str, Any]) -> ssl.SSLContext | None:
    if not api["ssl-enabled"]:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(api["ssl-cert"]), str(api["ssl-privkey"]))
    return ctx


class StorageProxyServer:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self._runners: list[web.AppRunner] = []
        self._sweeper: asyncio.Task[None] | None = None
        self.volumes: VolumePool | None = None
        self.client_url = ""
        self.manager_url = ""

    @property
    def proxy_name(self) -> str:
        return str(self.config["storage-proxy"]["proxy-name"])

    async def start(self) -> None:
        cfg, sp = self.config, self.config["storage-proxy"]
        if sp["num-proc"] > 1:
            log.warning("num-proc = %d: this storage proxy serves from one process", sp["num-proc"])
        self.volumes = VolumePool.from_config(cfg["volume"], owner=file_owner(cfg))
        await self.volumes.init()
        ctx = RootContext(
            node_id=sp["node-id"],
            proxy_name=self.proxy_name,
            volumes=self.volumes,
            tokens=TokenCodec(sp["secret"], sp["session-expire"]),
            uploads=UploadSessions(self.volumes, max_upload_size=int(sp["max-upload-size"])),
            manager_secret=cfg["api"]["manager"]["secret"],
            scandir_limit=sp["scandir-limit"],
            config=cfg,
        )
        try:
            self.client_url = await self._serve(client_api.create_app(ctx), cfg["api"]["client"])
            self.manager_url = await self._serve(manager_api.create_app(ctx), cfg["api"]["manager"])
            await self.register()
        except BaseException:
            await self.stop()
            raise
        self._sweeper = asyncio.create_task(self._sweep_loop(ctx.uploads))
        log.info("storage proxy %s: client API %s, manager API %s, volumes %s",
                 self.proxy_name, self.client_url, self.manager_url, ", ".join(self.volumes.names()))

    async def _serve(self, app: web.Application, api: dict[str, Any]) -> str:
        runner = web.AppRunner(app, handle_signals=False, access_log=None, read_bufsize=READ_BUFSIZE)
        await runner.setup()
        self._runners.append(runner)
        addr = api["service-addr"]
        site = web.TCPSite(runner, addr.host, addr.port, ssl_context=_ssl_context(api), reuse_address=True)
        await site.start()
        if api["announce-url"]:
            return announce_url(api)
        bound_port = runner.addresses[0][1]  # the real port when service-addr asks for port 0
        return announce_url({**api, "service-addr": type(addr)(addr.host, bound_port)})

    async def register(self) -> None:
        """Publish this proxy in etcd for the manager (volumes/proxies/NAME/...)."""
        cfg = self.config
        ecfg = cfg["etcd"]
        etcd = AsyncEtcd(ecfg["addr"], ecfg["namespace"], user=ecfg["user"], password=ecfg["password"])
        name = self.proxy_name
        try:
            await asyncio.wait_for(etcd.put_dict({
                f"volumes/proxies/{name}/client_api": self.client_url,
                f"volumes/proxies/{name}/manager_api": self.manager_url,
                f"volumes/proxies/{name}/secret": cfg["api"]["manager"]["secret"],
                f"volumes/proxies/{name}/ssl_verify": "true" if cfg["api"]["manager"]["ssl-verify"] else "false",
            }), timeout=15)
            default_volume = cfg["storage-proxy"]["default-volume"]
            if default_volume is not None:
                await etcd.put("volumes/default_host", f"{name}:{default_volume}")
            elif await etcd.get("volumes/default_host") is None:
                assert self.volumes is not None
                await etcd.put("volumes/default_host", f"{name}:{self.volumes.names()[0]}")
        except (TimeoutError, OSError, Exception) as e:
            raise RuntimeError(f"cannot register in etcd at {ecfg['addr']} (namespace "
                               f"{ecfg['namespace']!r}): {e}") from e
        finally:
            await etcd.close()
        log.info("registered in etcd as volumes/proxies/%s", name)

    async def _sweep_loop(self, uploads: UploadSessions) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                removed = await loop.run_in_executor(None, uploads.sweep_expired)
                if removed:
                    log.info("removed %d expired upload sessions", removed)
            except Exception:
                log.exception("sweeping expired upload sessions failed")
            await asyncio.sleep(SWEEP_INTERVAL)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self.volumes is not None:
            await self.volumes.shutdown()


async def serve_forever(config: dict[str, Any]) -> None:
    server = StorageProxyServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    pid_file = config["storage-proxy"]["pid-file"]
    if pid_file is not None:
        pid_file.write_text(str(os.getpid()))
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await server.stop()
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    from .cli import main

    main(["start-server"])
