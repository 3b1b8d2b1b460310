"""The official client 23.9.10 against the whole path: a real manager (scheduler included) and a
real Docker agent on its event bus. Sessions are created through the API; then `run`,
`session upload/download/ls/logs` and `events` are the client's own commands."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiodocker
import aiohttp
import pytest
import sqlalchemy as sa

from ai.backend.agent.docker.agent import DockerAgent
from ai.backend.agent.server import AgentServer
from ai.backend.common.events import EventProducer
from ai.backend.common.events.session import SessionStartedEvent
from ai.backend.common.redis_helper import REDIS_STREAM_DB, connect
from ai.backend.common.status import AgentStatus, SessionStatus
from ai.backend.manager.models import agents, kernels, keypair_resource_policies, sessions
from manager.helpers import USER, SignedClient, parse_table
from manager.sessions_api.sesshelpers import IMAGE, register_images
from manager.sessions_ops.conftest import KRUNNER_DIR, _remove_containers_of, make_config
from manager.sessions_ops.ophelpers import (
    SSEStream,
    console_text,
    execute_loop,
    open_sse,
    signed_headers,
    upload,
)

DEFAULT_CLI = Path.home() / ".cache" / "backend.ai" / "official-client-23.9.10" / "bin" / "backend.ai"


@pytest.fixture
def local_config(local_config: dict[str, Any]) -> dict[str, Any]:
    from ai.backend.manager.config import scheduler_config_iv

    local_config["scheduler"] = scheduler_config_iv.check({"tick-interval": 0.3, "redrive-interval": 1.0})
    return local_config


@pytest.fixture
async def docker_agent(manager: Any, redis_addr: Any, test_id: str, tmp_path: Path) -> AsyncIterator[DockerAgent]:
    """A Docker agent on the manager's event bus: it registers by heartbeat like in production."""
    await register_images(manager.db)
    mgr = manager.local_config["manager"]
    cfg = make_config(test_id, container={"scratch-root": str(tmp_path / "scratch"), "krunner-path": KRUNNER_DIR},
                      agent={"event-stream-key": mgr["event-stream-key"],
                             "event-broadcast-channel": mgr["event-broadcast-channel"]})
    redis = connect(redis_addr, db=REDIS_STREAM_DB)
    producer = EventProducer(redis, stream_key=mgr["event-stream-key"], broadcast_channel=mgr["event-broadcast-channel"])
    agent = DockerAgent(cfg, event_producer=producer)
    server = AgentServer(agent)
    await server.start()
    try:
        for _ in range(200):
            async with manager.db.connect() as conn:
                status = (await conn.execute(sa.select(agents.c.status).where(agents.c.id == agent.id))).scalar()
            if status == AgentStatus.ALIVE:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"agent {agent.id} did not register with the manager")
        yield agent
    finally:
        try:
            for kid in list(agent.kernel_registry):
                await agent.destroy_kernel(kid, reason="test-cleanup")
            await server.stop()
        finally:
            await _remove_containers_of(agent.id)
            await redis.aclose()


@pytest.fixture
def cli(manager: Any, tmp_path: Path) -> Any:
    exe = os.environ.get("BACKEND_TEST_OFFICIAL_CLIENT") or str(DEFAULT_CLI)
    if not Path(exe).is_file():
        pytest.fail(f"the official client is missing at {exe}: run scripts/official-client.sh")

    def env_for(keypair: tuple[str, str]) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "BACKEND_ENDPOINT": manager.url + "/", "BACKEND_ENDPOINT_TYPE": "api",
            "BACKEND_ACCESS_KEY": keypair[0], "BACKEND_SECRET_KEY": keypair[1],
            "LANG": "C.UTF-8", "COLUMNS": "400",
        }

    async def run(*args: str, keypair: tuple[str, str] = USER, cwd: Path | None = None, ok: bool = True,
                  timeout: float = 120, stdout_only: bool = False) -> str:
        env = env_for(keypair)
        proc = await asyncio.create_subprocess_exec(
            exe, *args, env=env, cwd=str(cwd or tmp_path), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout=timeout)
        except TimeoutError:
            proc.kill()
            raise
        text = out.decode() + ("" if stdout_only else err.decode())
        if ok:
            assert proc.returncode == 0, f"backend.ai {' '.join(args)} failed ({proc.returncode}):\n{text}"
        return text

    run.exe = exe  # type: ignore[attr-defined]
    run.env_for = env_for  # type: ignore[attr-defined]
    return run


async def _create(client: SignedClient, name: str) -> dict[str, Any]:
    resp = await client.request("POST", "/session", json_body={
        "name": name, "image": IMAGE, "type": "interactive", "group": "default", "domain": "default",
        "config": {"resources": {"cpu": 1, "mem": "256m"}}, "enqueueOnly": False, "maxWaitSeconds": 60,
    })
    assert resp.status in (200, 201), resp.body
    assert resp.body["status"] == "RUNNING", resp.body
    return resp.body


async def _containers(agent_id: str) -> list[Any]:
    docker = aiodocker.Docker()
    try:
        return await docker.containers.list(all=True, filters=json.dumps({"label": [f"ai.backend.agent-id={agent_id}"]}))
    finally:
        await docker.close()


async def test_run_rm_prints_hello_world_and_leaves_no_container(docker_agent: DockerAgent, cli: Any,
                                                                 manager: Any) -> None:
    out = await cli("run", "--rm", "-c", 'print("hello world")', "python", timeout=180)
    print(out)
    assert "hello world" in out.splitlines()
    for _ in range(100):
        if not await _containers(docker_agent.id):
            break
        await asyncio.sleep(0.1)
    assert await _containers(docker_agent.id) == []
    async with manager.db.connect() as conn:
        statuses = (await conn.execute(sa.select(sessions.c.status))).scalars().all()
    assert statuses and all(s in (SessionStatus.TERMINATING, SessionStatus.TERMINATED) for s in statuses)


async def test_session_upload_ls_download_logs(docker_agent: DockerAgent, cli: Any, user: SignedClient,
                                               tmp_path: Path) -> None:
    sess = await _create(user, "opsfiles")
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    payload = os.urandom(300_000)
    (src / "data.bin").write_bytes(payload)
    (src / "pkg" / "hello.py").write_text("print('hello from an uploaded file')\n")
    out = await cli("session", "upload", "opsfiles", "data.bin", "pkg/hello.py", cwd=src)
    assert "Uploaded." in out
    rows = {r["File name"]: r for r in parse_table(await cli("session", "ls", "opsfiles", stdout_only=True))}
    assert {"data.bin", "pkg"} <= set(rows) and rows["pkg"]["Mode"].startswith("d")
    sub = parse_table(await cli("session", "ls", "opsfiles", "/home/work/pkg", stdout_only=True))
    assert [r["File name"] for r in sub] == ["hello.py"]
    results = await execute_loop(user, "opsfiles", "exec(open('pkg/hello.py').read())")
    assert console_text(results) == "hello from an uploaded file\n"
    dest = tmp_path / "dest"
    dest.mkdir()
    out = await cli("session", "download", "opsfiles", "data.bin", "pkg/hello.py", "--dest", str(dest))
    assert "Downloaded to" in out
    assert (dest / "data.bin").read_bytes() == payload
    assert (dest / "hello.py").read_text() == "print('hello from an uploaded file')\n"
    out = await cli("session", "logs", "opsfiles")
    assert "End of logs." in out
    async with aiodocker.Docker() as docker:
        kid = None
        for k, v in docker_agent.kernel_registry.items():
            if str(v.session_id) == sess["sessionId"]:
                kid = k
        assert kid is not None
        cid = docker_agent.kernel_registry[kid].container_id
        lines = await docker.containers.container(str(cid)).log(stdout=True, stderr=True)
    assert "".join(lines).strip().splitlines()[0] in out


async def test_events_follow_a_session_to_its_end(docker_agent: DockerAgent, cli: Any, user: SignedClient,
                                                  manager: Any, redis_addr: Any) -> None:
    created = await _create(user, "opsevents")
    proc = await asyncio.create_subprocess_exec(
        cli.exe, "events", "opsevents", env=cli.env_for(USER), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    # announce a harmless event until the CLI prints it: then it is surely subscribed
    redis = connect(redis_addr, db=REDIS_STREAM_DB)
    mgr = manager.local_config["manager"]
    probe = EventProducer(redis, stream_key=f"{mgr['event-stream-key']}.unused",
                          broadcast_channel=mgr["event-broadcast-channel"])
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not lines:
                await probe.produce_event(SessionStartedEvent(uuid.UUID(created["sessionId"]), reason="probe"))
                try:
                    line = await asyncio.wait_for(proc.stdout.readline(), 0.5)
                except TimeoutError:
                    continue
                lines.append(line.decode())
        resp = await user.request("DELETE", "/session/opsevents")
        assert resp.status == 200, resp.body
        async with asyncio.timeout(120):
            rest, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
        await redis.aclose()
    out = "".join(lines) + rest.decode()
    print(out)
    names = [line.split(" ", 1)[0] for line in out.splitlines() if line.strip()]
    assert names[0] == "session_started" and "probe" in lines[0]
    after = [n for n in names if n != "session_started"]
    assert after == ["session_terminating", "kernel_terminating", "kernel_terminated", "session_terminated",
                     "server_close"]
    assert proc.returncode == 0
    async with manager.db.connect() as conn:
        ks = (await conn.execute(sa.select(kernels.c.status).where(kernels.c.session_name == "opsevents"))).scalars()
        assert all(s == SessionStatus.TERMINATED for s in ks)


async def test_lifecycle_events_from_enqueue_to_start(docker_agent: DockerAgent, user: SignedClient) -> None:
    """Everything the scheduler and the agent announce for a new session, in order (SSE, all
    of the user's sessions, subscribed before the session exists)."""
    name = f"ev-{uuid.uuid4().hex[:6]}"
    async with open_sse(user, "/events/session", {"sessionName": "*", "scope": "*"}) as resp:
        stream = SSEStream(resp)
        created = await _create(user, name)
        seen: list[str] = []
        while "session_started" not in seen:
            ev, data = await stream.next(timeout=60)
            assert data["sessionId"] == created["sessionId"] and data["sessionName"] == name
            seen.append(ev)
    print(seen)
    expected = ["session_enqueued", "session_scheduled", "kernel_preparing", "kernel_creating", "kernel_started",
                "session_started"]
    assert [e for e in seen if e in expected] == expected
    assert {"session_preparing", "session_creating"} <= set(seen)


async def test_app_proxies_the_sessions_http_server(docker_agent: DockerAgent, cli: Any, user: SignedClient) -> None:
    """`backend.ai app SESSION http-server -b PORT`: the client relays a local port through
    /stream/session/{name}/tcpproxy to the service started in the container."""
    await _create(user, "opsapp")
    status, _ = await upload(user, "opsapp", [("site/hello.txt", b"hello through backend.ai app\n")])
    assert status == 204
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        cli.exe, "app", "opsapp", "http-server", "-b", f"127.0.0.1:{port}", env=cli.env_for(USER),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL)
    try:
        async with asyncio.timeout(60):
            while True:
                try:
                    _, w = await asyncio.open_connection("127.0.0.1", port)
                    w.close()
                    break
                except OSError:
                    await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/site/hello.txt") as resp:
                assert resp.status == 200
                assert await resp.read() == b"hello through backend.ai app\n"
    finally:
        proc.terminate()
        out, _ = await proc.communicate()
    print(out.decode())
    assert "is available at" in out.decode()


async def test_run_uploads_files_and_runs_them_in_batch_mode(docker_agent: DockerAgent, cli: Any,
                                                            tmp_path: Path) -> None:
    """`backend.ai run --rm IMAGE main.py helper.py --exec CMD`: upload, then a batch run."""
    work = tmp_path / "proj"
    work.mkdir()
    (work / "helper.py").write_text("def greet(who):\n    return f'hello {who} from a batch run'\n")
    (work / "main.py").write_text("import sys\nfrom helper import greet\nprint(greet(sys.argv[1]))\n")
    out = await cli("run", "--rm", "--exec", "python3 main.py world", "python", "main.py", "helper.py",
                    cwd=work, timeout=180)
    print(out)
    assert "hello world from a batch run" in out.splitlines()
    assert "Execution finished. (exit code = 0)" in out


async def test_activity_postpones_the_idle_timeout(docker_agent: DockerAgent, user: SignedClient,
                                                   manager: Any) -> None:
    """Execute calls and a long streamed run count as activity (Redis last_access, read by the
    lifecycle watchdog); once they stop, the idle timeout terminates the session."""
    idle = 3
    async with manager.db.begin() as conn:
        await conn.execute(sa.update(keypair_resource_policies)
                           .where(keypair_resource_policies.c.name == "default").values(idle_timeout=idle))
    created = await _create(user, "opsidle")
    sid = uuid.UUID(created["sessionId"])

    async def status() -> SessionStatus:
        async with manager.db.connect() as conn:
            return SessionStatus((await conn.execute(sa.select(sessions.c.status)
                                                     .where(sessions.c.id == sid))).scalar_one())

    for _ in range(4):                    # 6 s of REST execute calls, one every 1.5 s
        await execute_loop(user, "opsidle", "print('busy')")
        await asyncio.sleep(1.5)
        assert await status() == SessionStatus.RUNNING
    # one streamed run twice as long as the idle timeout, printing now and then
    path = "/stream/session/opsidle/execute"
    async with user.session.ws_connect(user.base_url + path, headers=signed_headers(user, "GET", path)) as ws:
        await ws.send_json({"code": "import time\nfor i in range(4):\n    print(i, flush=True)\n    time.sleep(1.5)",
                            "mode": "query", "options": {}})
        async for msg in ws:
            if json.loads(msg.data)["status"] == "finished":
                break
    assert await status() == SessionStatus.RUNNING
    t0 = time.monotonic()
    while await status() == SessionStatus.RUNNING:
        assert time.monotonic() - t0 < idle + 10, "the idle session was not terminated"
        await asyncio.sleep(0.2)
    waited = time.monotonic() - t0
    async with manager.db.connect() as conn:
        info = (await conn.execute(sa.select(sessions.c.status_info).where(sessions.c.id == sid))).scalar_one()
    assert "idle-timeout" in (info or "") and waited >= idle - 1
