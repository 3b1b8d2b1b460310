"""`login` / `logout` with BACKEND_ENDPOINT_TYPE=session against the manager's web-session
endpoints, and parity of that flow with the official client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client.cli.clirunner import Runner, our_argv, our_env
from client.cli.parity import Step, assert_same, kv_lines, rows, run_scenario, status_only
from manager.helpers import parse_table

PASSWORD = "C8qnIo29EZvXkPK_MXcuAakYTy4NYrxwmCEyNPlf"    # the example user's password
LOGIN = f"user@lablup.com\n{PASSWORD}\n"


def _session_mode(runner: Runner) -> Runner:
    return Runner(runner.argv0, runner.endpoint, runner.home,
                  {**runner.extra_env, "BACKEND_ENDPOINT_TYPE": "session",
                   "BACKEND_ACCESS_KEY": "", "BACKEND_SECRET_KEY": ""})


async def test_login_logout(manager: Any, tmp_path: Path) -> None:
    cli = _session_mode(Runner(our_argv(), manager.url + "/", tmp_path / "ours", our_env()))
    wrong = await cli("login", input="user@lablup.com\nwrong-password\n", ok=False)
    assert wrong.code == 1 and "Login failed" in wrong.err
    r = await cli("login", input=LOGIN)
    assert "Login succeeded." in r.err
    assert 'Username: "user@lablup.com"' in (await cli("config")).out
    me = {row["Field"]: row["Value"] for row in parse_table((await cli("admin", "user", "info")).out)}
    assert me["Email"] == "user@lablup.com" and me["Role"] == "user"
    await cli("vfolder", "list-hosts")                    # REST calls go through /func as well
    assert "Logout done." in (await cli("logout")).err
    after = await cli("admin", "user", "info", ok=False)
    assert after.code == 1 and "Traceback" not in after.err
    api_mode = Runner(our_argv(), manager.url + "/", tmp_path / "api", our_env())
    refused = await api_mode("login", input=LOGIN, ok=False)
    assert 'endpoint type must be "session"' in refused.err


SESSION_MODE = [
    Step(["login"], status_only, input="user@lablup.com\nwrong-password\n"),
    Step(["login"], status_only, input=LOGIN),
    Step(["config"], kv_lines(skip=("Client version", "Negotiated API version"))),
    Step(["admin", "user", "info"], rows),
    Step(["admin", "keypair", "info"], rows),
    Step(["logout"], status_only),
]


async def test_session_mode_matches_official(cli: Runner, official_cli: Runner, tmp_path: Path) -> None:
    ours = await run_scenario(_session_mode(cli), SESSION_MODE, tmp_path / "ours")
    theirs = await run_scenario(_session_mode(official_cli), SESSION_MODE, tmp_path / "official")
    assert_same(ours, theirs)
    assert ours.outcomes[1].value == 0 and ours.outcomes[0].value == 1
