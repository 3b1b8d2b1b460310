"""Service ports started on demand: the service-definition DSL and the intrinsic ttyd.

A definition (/etc/backend.ai/service-defs/NAME.json) has `prestart` actions (write_file,
write_tempfile, mkdir, run_command, log), a templated `command` and an optional
`url_template` (for clients; not interpreted here). Templates use Python brace formatting
with `ports`, `runtime_path` and the `ref` results of earlier prestart actions.
A service counts as started once its first port accepts TCP connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("ai.backend.kernel.service")

START_TIMEOUT = 30.0
RUN_COMMAND_TIMEOUT = 30.0


class ServiceError(Exception):
    pass


def render(template: Any, variables: Mapping[str, Any]) -> str:
    if not isinstance(template, str):
        raise ServiceError(f"expected a template string, got {template!r}")
    try:
        return template.format(**variables)
    except (KeyError, IndexError, AttributeError, ValueError) as e:
        raise ServiceError(f"cannot fill template {template!r}: {e!r}") from None


def _body(args: Mapping[str, Any], variables: Mapping[str, Any]) -> str:
    body = args.get("body", [])
    if isinstance(body, str):
        body = [body]
    return "".join(render(line, variables) for line in body)


def _mode(args: Mapping[str, Any]) -> int:
    try:
        return int(str(args.get("mode", "755")), 8)
    except ValueError:
        raise ServiceError(f"invalid file mode {args.get('mode')!r}") from None


async def run_prestart(actions: Sequence[Mapping[str, Any]], variables: dict[str, Any]) -> None:
    for action in actions:
        name = action.get("action")
        args = action.get("args") or {}
        if name == "write_file":
            path = Path(render(args.get("filename"), variables))
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a" if args.get("append") else "w") as f:
                f.write(_body(args, variables))
            path.chmod(_mode(args))
            result: Any = None
        elif name == "write_tempfile":
            fd, tmp = tempfile.mkstemp(prefix="bai-svc-")
            with os.fdopen(fd, "w") as f:
                f.write(_body(args, variables))
            os.chmod(tmp, _mode(args))
            result = tmp
        elif name == "mkdir":
            Path(render(args.get("path"), variables)).mkdir(parents=True, exist_ok=True)
            result = None
        elif name == "run_command":
            argv = [render(a, variables) for a in args.get("command") or []]
            if not argv:
                raise ServiceError("run_command needs a command")
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            try:
                out, err = await asyncio.wait_for(proc.communicate(), RUN_COMMAND_TIMEOUT)
            except TimeoutError:
                proc.kill()
                raise ServiceError(f"prestart command {argv!r} did not finish in {RUN_COMMAND_TIMEOUT}s") from None
            result = {"out": out.decode("utf-8", "replace"), "err": err.decode("utf-8", "replace")}
        elif name == "log":
            text = render(args.get("body", ""), variables)
            log.log(logging.DEBUG if args.get("debug") else logging.INFO, "%s", text)
            result = None
        else:
            raise ServiceError(f"unknown prestart action {name!r}")
        if action.get("ref"):
            variables[str(action["ref"])] = result


async def _port_open(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


class ServiceManager:
    def __init__(
        self,
        *,
        runtime_path: str | None,
        workdir: str,
        service_def_dirs: Sequence[Path],
        krunner_bin: Path,
    ) -> None:
        self.runtime_path = runtime_path
        self.workdir = workdir
        self.service_def_dirs = list(service_def_dirs)
        self.krunner_bin = krunner_bin
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def load_definition(self, name: str) -> dict[str, Any]:
        if name == "ttyd":
            shell = "/bin/bash" if Path("/bin/bash").exists() else "/bin/sh"
            return {"command": [str(self.krunner_bin / "ttyd"), "-p", "{ports[0]}", shell]}
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ServiceError(f"invalid service name {name!r}")
        for d in self.service_def_dirs:
            path = d / f"{name}.json"
            if path.is_file():
                try:
                    data = json.loads(path.read_text())
                except ValueError as e:
                    raise ServiceError(f"{path}: invalid JSON ({e})") from None
                if not isinstance(data, dict) or not isinstance(data.get("command"), list):
                    raise ServiceError(f"{path}: a service definition needs a command list")
                return data
        raise ServiceError(f"no definition for service {name!r}")

    async def start(self, name: str, ports: Sequence[int], options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            proc = self.processes.get(name)
            if proc is not None and proc.returncode is None:
                return {"status": "running"}
            if not ports:
                raise ServiceError(f"service {name!r} has no port")
            definition = self.load_definition(name)
            variables: dict[str, Any] = {"ports": list(ports), "runtime_path": self.runtime_path or ""}
            await run_prestart(definition.get("prestart") or [], variables)
            argv = [render(a, variables) for a in definition["command"]]
            opts = options or {}
            for k, v in (opts.get("arguments") or {}).items():
                argv.extend([str(k), str(v)] if v not in (None, "") else [str(k)])
            env = dict(os.environ)
            env.update({str(k): str(v) for k, v in (opts.get("envs") or {}).items()})
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv, cwd=self.workdir, env=env, stdin=asyncio.subprocess.DEVNULL, start_new_session=True,
                )
            except OSError as e:
                raise ServiceError(f"cannot start {name}: {e}") from None
            self.processes[name] = proc
            deadline = asyncio.get_running_loop().time() + START_TIMEOUT
            while not await _port_open(ports[0]):
                if proc.returncode is not None:
                    raise ServiceError(f"service {name} exited with {proc.returncode} before opening port {ports[0]}")
                if asyncio.get_running_loop().time() > deadline:
                    raise ServiceError(f"service {name} did not open port {ports[0]} in {START_TIMEOUT}s")
                await asyncio.sleep(0.1)
            log.info("service %s started (pid %d, ports %s)", name, proc.pid, list(ports))
            return {"status": "started"}

    async def shutdown(self, name: str) -> dict[str, Any]:
        proc = self.processes.pop(name, None)
        if proc is None or proc.returncode is not None:
            return {"status": "not-running"}
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(proc.wait(), 5.0)
        except TimeoutError:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
        return {"status": "stopped"}

    async def close(self) -> None:
        for name in list(self.processes):
            await self.shutdown(name)
