"""Our `backend.ai` and the official client 23.9.10 run the same scenario list against the
same real server and must give the same results (exit codes and normalized outputs).

Run `scripts/cli-parity.sh` to see both outputs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client.cli.parity import (
    Step,
    assert_same,
    content,
    json_items,
    kv_lines,
    rows,
    run_scenario,
    status_only,
    stdout_lines,
)
from client.stack import Stack, local_config, stack  # noqa: F401  (fixtures)
from manager.helpers import ADMIN, USER

CONFIG_AND_ADMIN = [
    # Client version and the negotiated version's spelling differ by design.
    Step(["config"], kv_lines(skip=("Client version", "Negotiated API version"))),
    Step(["admin", "user", "list"]),
    Step(["admin", "user", "info"], rows),
    Step(["admin", "user", "info", "-e", "user@lablup.com"], rows),
    Step(["admin", "keypair", "list"]),
    Step(["admin", "keypair", "info"]),
    Step(["admin", "domain", "list"]),
    Step(["admin", "domain", "info", "default"]),
    Step(["admin", "group", "list"]),
    Step(["admin", "group", "info", "default"]),
    Step(["admin", "keypair-resource-policy", "list"]),
    Step(["admin", "keypair-resource-policy", "info", "default"]),
    Step(["admin", "scaling-group", "list"]),
    Step(["admin", "scaling-group", "info", "default"]),
    Step(["admin", "image", "list"]),
    Step(["admin", "agent", "list"]),
    Step(["ps"]),
    Step(["admin", "session", "list", "--all"]),
    Step(["--output", "json", "admin", "user", "list"], json_items),
    Step(["--output", "json", "admin", "keypair", "list"], json_items),
    Step(["--output", "json", "admin", "domain", "list"], json_items),
    Step(["--output", "json", "admin", "scaling-group", "list"], json_items),
]


async def test_config_and_admin_listings_match(cli: Any, official_cli: Any, tmp_path: Path) -> None:
    ours = await run_scenario(cli, CONFIG_AND_ADMIN, tmp_path / "ours")
    theirs = await run_scenario(official_cli, CONFIG_AND_ADMIN, tmp_path / "official")
    assert_same(ours, theirs)


USER_VIEW = [
    Step(["admin", "user", "list"]),
    Step(["admin", "keypair", "info"]),
    Step(["ps"]),
]


async def test_a_normal_user_sees_the_same(cli: Any, official_cli: Any, tmp_path: Path) -> None:
    async def as_user(runner: Any) -> Any:
        async def call(*args: str, **kw: Any) -> Any:
            return await runner(*args, keypair=USER, **kw)
        call.home = runner.home  # type: ignore[attr-defined]
        return call
    ours = await run_scenario(await as_user(cli), USER_VIEW, tmp_path / "ours")
    theirs = await run_scenario(await as_user(official_cli), USER_VIEW, tmp_path / "official")
    assert_same(ours, theirs)


VFOLDER = [
    Step(["vfolder", "list-hosts"], kv_lines()),
    Step(["vfolder", "create", "parity", "local:volume1"], kv_lines()),
    Step(["vfolder", "list"]),
    Step(["vfolder", "info", "parity"], kv_lines(skip=("Virtual folder \"parity\" (ID",))),
    Step(["vfolder", "upload", "parity", "hello.txt"], status_only),
    # absolute: the official client cannot take a relative --base-dir
    Step(["vfolder", "upload", "parity", "blob.bin", "-b", "{workdir}/data"], status_only),
    Step(["vfolder", "mkdir", "parity", "sub"], status_only),
    Step(["vfolder", "mv", "parity", "hello.txt", "sub/hello.txt"], status_only),
    Step(["vfolder", "ls", "parity"]),
    Step(["vfolder", "ls", "parity", "sub"]),
    Step(["vfolder", "download", "parity", "sub/hello.txt", "blob.bin", "-b", "dl"], status_only,
         produces="dl/blob.bin"),
    Step(["vfolder", "rm", "parity", "sub/hello.txt"], status_only, input="y\n"),
    Step(["vfolder", "ls", "parity", "sub"]),
    Step(["vfolder", "info", "no-such-folder"], status_only),
    Step(["vfolder", "delete", "parity"], status_only),
    Step(["vfolder", "list"]),
]


def _seed_files(workdir: Path) -> None:
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    (workdir / "dl" / "sub").mkdir(parents=True, exist_ok=True)   # the official client needs them
    (workdir / "hello.txt").write_text("hello parity\n")
    (workdir / "data" / "blob.bin").write_bytes(bytes(range(256)) * 4096)


async def test_vfolder_workflow_matches(cli: Any, official_cli: Any, storage: Any, tmp_path: Path) -> None:
    for side in ("ours", "official"):
        _seed_files(tmp_path / side)
    ours = await run_scenario(cli, VFOLDER, tmp_path / "ours")
    theirs = await run_scenario(official_cli, VFOLDER, tmp_path / "official")
    assert_same(ours, theirs)
    assert (tmp_path / "ours" / "dl" / "blob.bin").read_bytes() == bytes(range(256)) * 4096


TEMPLATE = """\
api_version: v1
kind: taskTemplate
metadata:
  name: parity-{n}
  tag: example
spec:
  kernel:
    image: cr.backend.ai/stable/python:3.11-debian12
    environ:
      MYCONFIG: XXX
  resources:
    cpu: '1'
    mem: 256m
"""

TEMPLATES_AND_DOTFILES = [
    Step(["sesstpl", "list"]),
    Step(["sesstpl", "create"], status_only, input=TEMPLATE.format(n=1),
         capture=("tid", r"Task template (\S+) created and ready")),
    Step(["sesstpl", "list"]),
    Step(["sesstpl", "get", "{tid}"], content),
    Step(["sesstpl", "update", "{tid}"], status_only, input=TEMPLATE.format(n=2)),
    Step(["sesstpl", "get", "{tid}", "-f", "json"], content),
    Step(["sesstpl", "delete", "{tid}", "-f"], status_only),
    Step(["sesstpl", "list"]),
    Step(["sesstpl", "get", "{tid}"], status_only),
    Step(["dotfile", "list"]),
    Step(["dotfile", "create", ".bashrc"], status_only, input="alias ll='ls -al'\nexport A=1\n"),
    Step(["dotfile", "create", ".vimrc", "--perm", "644"], status_only, input="set nu\n"),
    Step(["dotfile", "list"]),
    Step(["dotfile", "get", ".bashrc"], content),
    Step(["dotfile", "update", ".bashrc", "--perm", "600"], status_only, input="export B=2\n"),
    Step(["dotfile", "list"]),
    Step(["dotfile", "get", ".bashrc"], content),
    Step(["dotfile", "delete", ".bashrc", "-f"], status_only),
    Step(["dotfile", "delete", ".vimrc", "-f"], status_only),
    Step(["dotfile", "list"]),
    Step(["dotfile", "get", ".bashrc"], status_only),
]


async def test_templates_and_dotfiles_match(cli: Any, official_cli: Any, tmp_path: Path) -> None:
    ours = await run_scenario(cli, TEMPLATES_AND_DOTFILES, tmp_path / "ours")
    theirs = await run_scenario(official_cli, TEMPLATES_AND_DOTFILES, tmp_path / "official")
    assert_same(ours, theirs)


SESSIONS = [
    Step(["run", "--rm", "-c", 'print("hello world")', "python"], stdout_lines),
    Step(["run", "--rm", "-c", "import sys; print('to stdout'); print('to stderr', file=sys.stderr)",
          "python"], stdout_lines),
    Step(["start", "-t", "parsess", "python"], status_only),
    Step(["ps"]),
    Step(["session", "upload", "parsess", "up.txt"], status_only),
    Step(["session", "ls", "parsess"]),
    Step(["session", "download", "parsess", "up.txt", "--dest", "dl"], status_only, produces="dl/up.txt"),
    Step(["session", "logs", "parsess"], status_only),
    Step(["session", "ls", "parsess", "/no/such/dir"], status_only),
    Step(["rm", "parsess"], status_only),
    Step(["ps"]),
    Step(["rm", "parsess"], status_only),
]


async def test_sessions_match(cli: Any, official_cli: Any, stack: Stack, tmp_path: Path) -> None:  # noqa: F811
    for side in ("ours", "official"):
        (tmp_path / side / "dl").mkdir(parents=True)
        (tmp_path / side / "up.txt").write_text("uploaded for parity\n")
    ours = await run_scenario(cli, SESSIONS, tmp_path / "ours")
    theirs = await run_scenario(official_cli, SESSIONS, tmp_path / "official")
    assert_same(ours, theirs)
    assert ours.outcomes[0].value == (0, ["hello world"])
    assert (tmp_path / "ours" / "dl" / "up.txt").read_text() == "uploaded for parity\n"


async def test_events_match(cli: Any, official_cli: Any, stack: Stack) -> None:  # noqa: F811
    """Both CLIs follow the same session's lifecycle events while it is terminated."""
    import asyncio

    from client.cli.clirunner import _env

    await cli("start", "-t", "evparity", "python")
    procs = []
    for runner in (cli, official_cli):
        env = {**_env(runner.endpoint, ADMIN, runner.home), **runner.extra_env}
        procs.append(await asyncio.create_subprocess_exec(
            *runner.argv0, "events", "evparity", env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE))

    async def names_until_terminated(proc: Any) -> list[str]:
        names: list[str] = []
        while line := (await proc.stdout.readline()).decode():
            names.append(line.split(" ", 1)[0])
            if names[-1] == "session_terminated":
                break
        return names

    try:
        await asyncio.sleep(4)                              # both subscribed
        await cli("rm", "evparity")
        ours, theirs = await asyncio.wait_for(
            asyncio.gather(*(names_until_terminated(p) for p in procs)), timeout=90)
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
            await p.wait()
    assert ours == theirs, (ours, theirs)
    assert ours[-1] == "session_terminated" and "session_terminating" in ours
