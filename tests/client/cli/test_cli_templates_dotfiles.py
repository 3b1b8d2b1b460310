"""`backend.ai sesstpl ...` and `backend.ai dotfile ...` against a real manager."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from manager.helpers import USER, parse_table

TEMPLATE = """\
api_version: v1
kind: taskTemplate
metadata:
  name: tpl-{tag}
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


async def test_session_template_crud(cli: Any, tmp_path: Path) -> None:
    r = await cli("sesstpl", "create", keypair=USER, input=TEMPLATE.format(tag="a"))
    m = re.search(r"Task template (\S+) created and ready", r.err)
    assert m, r.text
    tid = m.group(1)
    rows = parse_table((await cli("sesstpl", "list", keypair=USER)).out)
    assert [(t["Name"], t["ID"], t["Owner"], t["Type"]) for t in rows] == [("tpl-a", tid, "True", "task")]
    body = (await cli("session-template", "get", tid, keypair=USER)).out
    assert "name: tpl-a" in body and "MYCONFIG: XXX" in body
    path = tmp_path / "tpl.yaml"
    path.write_text(TEMPLATE.format(tag="b"))
    await cli("sesstpl", "update", tid, "-f", str(path), keypair=USER)
    assert '"name": "tpl-b"' in (await cli("sesstpl", "get", tid, "--format", "json", keypair=USER)).out
    # the admin sees the user's template only with --list-all, and not as its owner
    assert "There is no task templates created yet." in (await cli("sesstpl", "list")).out
    await cli("sesstpl", "delete", tid, "-f", keypair=USER)
    assert "There is no task templates created yet." in (await cli("sesstpl", "list", keypair=USER)).out


async def test_session_template_errors(cli: Any) -> None:
    empty = await cli("sesstpl", "create", input="", keypair=USER, ok=False)
    assert empty.code == 4 and "empty" in empty.err
    bad = await cli("sesstpl", "create", input="kind: nonsense\n", keypair=USER, ok=False)
    assert bad.code == 1 and "(HTTP 400)" in bad.err and "Traceback" not in bad.err
    gone = await cli("sesstpl", "get", "00000000-0000-0000-0000-000000000000", keypair=USER, ok=False)
    assert gone.code == 1 and "(HTTP 404)" in gone.err
    aborted = await cli("sesstpl", "delete", "00000000-0000-0000-0000-000000000000", input="n\n",
                        keypair=USER, ok=False)
    assert "Aborting." in aborted.err


async def test_dotfile_crud(cli: Any, tmp_path: Path) -> None:
    await cli("dotfile", "create", ".bashrc", keypair=USER, input="alias ll='ls -al'\nexport A=1\n")
    src = tmp_path / "config"
    src.write_text("[default]\nregion = x\n")
    await cli("dotfile", "create", ".aws/config", "-f", str(src), "--perm", "644", keypair=USER)
    rows = {d["Path"]: d for d in parse_table((await cli("dotfile", "list", keypair=USER)).out)}
    assert set(rows) == {".bashrc", ".aws/config"}
    assert rows[".aws/config"]["Permission"] == "644" and rows[".bashrc"]["Data"] == "alias ll='ls -al'"
    assert (await cli("dotfile", "get", ".bashrc", keypair=USER)).out == "alias ll='ls -al'\nexport A=1\n"
    await cli("dotfile", "update", ".bashrc", "--perm", "600", keypair=USER, input="export B=2\n")
    assert (await cli("dotfile", "get", ".bashrc", keypair=USER)).out == "export B=2\n"
    await cli("dotfile", "delete", ".bashrc", "-f", keypair=USER)
    await cli("dotfile", "delete", ".aws/config", "-f", keypair=USER)
    assert "There is no dotfiles created yet." in (await cli("dotfile", "list", keypair=USER)).out
    missing = await cli("dotfile", "get", ".nope", keypair=USER, ok=False)
    assert missing.code == 1 and "(HTTP 404)" in missing.err
