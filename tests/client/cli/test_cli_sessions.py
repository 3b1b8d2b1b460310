"""Session commands against the whole stack (manager + a real Docker agent + the kernel
image): `run` (hello world by image alias, env ranges into concurrent sessions, batch
files), `start -t`, `ps`, `info`, `session ls/upload/download/logs/rename/restart`, `rm`,
`events`."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ai.backend.manager.models import sessions
from client.stack import Stack, local_config, stack  # noqa: F401  (fixtures)
from manager.helpers import USER, parse_table


async def _session_rows(stack: Stack) -> list[Any]:  # noqa: F811
    async with stack.manager.db.connect() as conn:
        return list((await conn.execute(sa.select(sessions.c.name, sessions.c.status,
                                                  sessions.c.environ))).all())


def _live(rows: list[Any]) -> list[str]:
    return [r.name for r in rows if r.status.name not in ("TERMINATED", "CANCELLED", "ERROR", "TERMINATING")]


async def test_run_hello_world_by_alias(cli: Any, stack: Stack) -> None:  # noqa: F811
    r = await cli("run", "--rm", "-c", 'print("hello world")', "python", keypair=USER)
    assert r.out == "hello world\n", r.text
    assert "Execution finished. (exit code = 0)" in r.err
    assert _live(await _session_rows(stack)) == []        # --rm terminated it


async def test_run_env_range_starts_one_session_per_case(cli: Any, stack: Stack) -> None:  # noqa: F811
    # the must-show command as given (no --rm): three cases on a 2-core agent that fits two
    # sessions at a time, so each case's session must be released when its case is done
    r = await cli("run", "--env-range=X=case:1,2,3", "-e", "CASENO=$X",
                  "-c", 'import os; print(os.environ["CASENO"])', "python", keypair=USER)
    lines = sorted(line for line in r.out.splitlines() if line.strip())
    assert lines == ["[1] 1", "[2] 2", "[3] 3"], r.text
    rows = await _session_rows(stack)
    assert len(rows) == 3                                  # three sessions, one per case
    assert sorted(r.environ["CASENO"] for r in rows) == ["1", "2", "3"]
    assert _live(rows) == []
    kept = await cli("run", "--keep-sessions", "--env-range=Y=range:2", "-e", "V=$Y", "-c", "print(1)", "python",
                     keypair=USER)
    assert sorted(kept.out.split()) == ["1", "1", "[1]", "[2]"], kept.text
    assert len(_live(await _session_rows(stack))) == 2
    await cli("rm", *_live(await _session_rows(stack)), keypair=USER)


async def test_run_exit_code_and_batch_files(cli: Any, stack: Stack) -> None:  # noqa: F811
    work = cli.home
    (work / "main.py").write_text("import sys\nprint('args', sys.argv[1:])\n")
    r = await cli("run", "--rm", "--exec", "python main.py a b", "python", "main.py", keypair=USER)
    assert "args ['a', 'b']" in r.out, r.text
    bad = await cli("run", "--rm", "--exec", "python main.py; exit 3", "python", "main.py", keypair=USER,
                    ok=False)                            # a failing batch run fails the command
    assert bad.code == 1 and "exit code = 3" in bad.err, bad.text
    noimg = await cli("run", "--rm", "-c", "print(1)", "no-such-image", keypair=USER, ok=False)
    assert noimg.code == 1 and "Traceback" not in noimg.err
    assert len([line for line in noimg.err.splitlines() if line.strip()]) == 1


async def test_start_ps_files_logs_rm(cli: Any, stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    r = await cli("start", "-t", "mysess", "python", keypair=USER)
    assert re.search(r"Session mysess \(ID \S+\) is created and ready", r.err), r.text
    again = await cli("start", "-t", "mysess", "python", keypair=USER)
    assert "is already running and ready" in again.err
    rows = parse_table((await cli("ps", keypair=USER)).out)
    assert [(x["Name"], x["Status"], x["Project/Group"]) for x in rows] == [("mysess", "RUNNING", "default")]
    info = parse_table((await cli("info", "mysess", keypair=USER)).out)
    assert {f["Field"]: f["Value"] for f in info}["Status"] == "RUNNING"

    (cli.home / "up.txt").write_text("uploaded content\n")
    await cli("session", "upload", "mysess", "up.txt", keypair=USER)
    listing = {f["File name"]: f for f in parse_table((await cli("session", "ls", "mysess", keypair=USER)).out)}
    assert "up.txt" in listing and listing["up.txt"]["Size"] == "17 Bytes"
    await cli("run", "-t", "mysess", "-c", "open('made.txt','w').write('made in session')", "python",
              keypair=USER)
    dest = tmp_path / "dl"
    dest.mkdir()
    await cli("session", "download", "mysess", "made.txt", "up.txt", "--dest", str(dest), keypair=USER)
    assert (dest / "made.txt").read_text() == "made in session"
    assert (dest / "up.txt").read_text() == "uploaded content\n"
    logs = await cli("session", "logs", "mysess", keypair=USER)
    assert "End of logs." in logs.err

    await cli("session", "rename", "mysess", "mysess2", keypair=USER)
    await cli("rm", "mysess2", keypair=USER)
    assert _live(await _session_rows(stack)) == []
    assert "There are no matching active sessions." in (await cli("ps", keypair=USER)).out
    gone = await cli("rm", "mysess2", keypair=USER, ok=False)
    assert gone.code == 1 and "(HTTP 404)" in gone.err


async def test_events_follow_a_session(cli: Any, stack: Stack) -> None:  # noqa: F811
    from client.cli.clirunner import _env, our_argv, our_env

    env = {**_env(cli.endpoint, USER, cli.home), **our_env()}
    await cli("start", "-t", "evsess", "python", keypair=USER)
    proc = await asyncio.create_subprocess_exec(
        *our_argv(), "events", "evsess", env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    names: list[str] = []

    async def read_until_terminated() -> None:
        assert proc.stdout is not None
        while line := (await proc.stdout.readline()).decode():
            names.append(line.split(" ", 1)[0])
            if names[-1] == "session_terminated":
                return

    try:
        await asyncio.sleep(3)                         # let it subscribe
        await cli("rm", "evsess", keypair=USER)
        await asyncio.wait_for(read_until_terminated(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    err = (await proc.stderr.read()).decode() if proc.stderr else ""
    assert "session_terminated" in names, (names, err)
    assert names.index("session_terminating") < names.index("session_terminated"), names


TEMPLATE = """\
api_version: v1
kind: taskTemplate
metadata:
  name: tplsess
spec:
  kernel:
    image: python
    environ:
      FROM_TEMPLATE: "yes"
"""


async def test_start_from_template_and_restart(cli: Any, stack: Stack) -> None:  # noqa: F811
    r = await cli("sesstpl", "create", input=TEMPLATE, keypair=USER)
    tid = re.search(r"Task template (\S+) created", r.err).group(1)  # type: ignore[union-attr]
    started = await cli("start-from-template", tid, "-t", "fromtpl", "-r", "cpu=1", keypair=USER)
    assert "is created and ready" in started.err, started.text
    out = await cli("run", "-t", "fromtpl", "-c",
                    "import os; print(os.environ['FROM_TEMPLATE'])", "python", keypair=USER)
    assert out.out == "yes\n", out.text
    await cli("restart", "fromtpl", keypair=USER)
    again = await cli("run", "-t", "fromtpl", "-c", "print('after restart')", "python", keypair=USER)
    assert again.out == "after restart\n", again.text
    await cli("rm", "fromtpl", keypair=USER)
    assert _live(await _session_rows(stack)) == []


@pytest.fixture
async def kernel_storage(tmp_path: Path, cluster_etcd: Any, etcd_addr: Any, test_id: str) -> Any:
    """The test storage proxy, but making vfolders owned by the agent's kernel uid/gid (1100),
    as configs/storage-proxy/halfstack.toml does, so sessions can write into them."""
    from ai.backend.common.types import HostPortPair
    from ai.backend.storage import config as cfgmod
    from ai.backend.storage.server import StorageProxyServer
    from manager.vfolders.conftest import STORAGE_TOML

    text = STORAGE_TOML.format(namespace=cluster_etcd.namespace, etcd_host=etcd_addr.host,
                               etcd_port=etcd_addr.port, test_id=test_id, vfroot=tmp_path / "vfroot")
    text = text.replace("[storage-proxy]\n", "[storage-proxy]\nuser = 1100\ngroup = 1100\n", 1)
    path = tmp_path / "storage-proxy.toml"
    path.write_text(text)
    config = cfgmod.load(path)
    for side in ("client", "manager"):
        config["api"][side]["service-addr"] = HostPortPair("127.0.0.1", 0)
    await cluster_etcd.put_dict({"volumes/_types/user": "", "volumes/_types/group": ""})
    server = StorageProxyServer(config)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_run_with_a_mounted_vfolder(cli: Any, stack: Stack, kernel_storage: Any) -> None:  # noqa: F811
    (cli.home / "input.csv").write_text("a,b\n1,2\n")
    await cli("vfolder", "create", "mydata1", keypair=USER)
    await cli("vfolder", "upload", "mydata1", "input.csv", keypair=USER)
    r = await cli("run", "--rm", "-m", "mydata1", "-c",
                  "print(open('/home/work/mydata1/input.csv').read().splitlines()[1]);"
                  "open('/home/work/mydata1/result.txt', 'w').write('done')", "python", keypair=USER)
    assert r.out == "1,2\n", r.text
    assert "Error" not in r.err, r.err
    dl = cli.home / "dl"
    dl.mkdir()
    await cli("vfolder", "download", "mydata1", "result.txt", "-b", str(dl), keypair=USER)
    assert (dl / "result.txt").read_text() == "done"      # written by the session, read back


async def test_enqueue_only_returns_before_the_session_runs(cli: Any, stack: Stack) -> None:  # noqa: F811
    r = await cli("run", "--enqueue-only", "-t", "queued1", "-c", "print('never')", "python", keypair=USER)
    assert "never" not in r.out
    assert re.search(r"Session queued1 \(ID \S+\) is enqueued for scheduling", r.err), r.text
    names: list[str] = []
    for _ in range(20):                   # the listing may lag the enqueue reply by a moment
        out = (await cli("ps", "--all", keypair=USER)).out
        names = [x["Name"] for x in parse_table(out)] if "---" in out else []
        if names:
            break
        await asyncio.sleep(0.5)
    assert names == ["queued1"]
    await cli("rm", "queued1", keypair=USER)
