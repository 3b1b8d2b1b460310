"""Our `backend.ai` and the official client 23.9.10 run the same scenario list against the
same real server and must give the same results (exit codes and normalized outputs).

Run `scripts/cli-parity.sh` to see both outputs side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client.cli.parity import Step, assert_same, json_items, kv_lines, rows, run_scenario
from manager.helpers import USER

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
