"""`backend.ai vfolder ...` against a real manager and storage proxy."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from manager.helpers import USER, parse_table


async def test_vfolder_lifecycle_and_files(cli: Any, storage: Any, tmp_path: Path) -> None:
    work = cli.home
    (work / "data").mkdir()
    payload = os.urandom(3 * 2**20 + 123)
    (work / "data" / "blob.bin").write_bytes(payload)
    (work / "data" / "sub").mkdir()
    (work / "data" / "sub" / "note.txt").write_text("hello vfolder\n")

    hosts = (await cli("vfolder", "list-hosts", keypair=USER)).out
    assert "Default vfolder host: local:volume1" in hosts and "local:volume1" in hosts.splitlines()[1]
    r = await cli("vfolder", "create", "mydata", "local:volume1", keypair=USER)
    assert 'Virtual folder "mydata" is created.' in r.out
    rows = parse_table((await cli("vfolder", "list", keypair=USER)).out)
    assert [(v["Name"], v["Host"], v["Permission"], v["Ownership Type"]) for v in rows] == \
        [("mydata", "local:volume1", "rw", "user")]

    await cli("vfolder", "upload", "mydata", "data", "-r", keypair=USER)
    await cli("vfolder", "upload", "mydata", "data/blob.bin", "-b", "data", keypair=USER)
    listing = {f["file name"]: f for f in parse_table((await cli("vfolder", "ls", "mydata", keypair=USER)).out)}
    assert set(listing) == {"data", "blob.bin"}
    assert listing["blob.bin"]["size"] == str(len(payload))
    sub = parse_table((await cli("vfolder", "ls", "mydata", "data/sub", keypair=USER)).out)
    assert [f["file name"] for f in sub] == ["note.txt"]
    files = json.loads((await cli("--output", "json", "vfolder", "ls", "mydata", "data", keypair=USER)).out)
    assert sorted(f["filename"] for f in files) == ["blob.bin", "sub"]

    await cli("vfolder", "mkdir", "mydata", "out/deep", "-p", keypair=USER)
    await cli("vfolder", "mv", "mydata", "blob.bin", "out/deep/moved.bin", keypair=USER)
    dl = tmp_path / "dl"
    dl.mkdir()
    r = await cli("vfolder", "download", "mydata", "out/deep/moved.bin", "-b", str(dl), keypair=USER)
    assert (dl / "out" / "deep" / "moved.bin").read_bytes() == payload   # keeps the remote path
    assert "100%" in r.err          # a tqdm progress bar on stderr

    await cli("vfolder", "rm", "mydata", "data", "-r", keypair=USER)
    assert {f["file name"] for f in parse_table((await cli("vfolder", "ls", "mydata", keypair=USER)).out)} == {"out"}

    info = (await cli("vfolder", "info", "mydata", keypair=USER)).out
    assert 'Virtual folder "mydata"' in info and "- Owner: True" in info and "- Status: ready" in info
    await cli("vfolder", "rename", "mydata", "mydata2", keypair=USER)
    await cli("vfolder", "delete", "mydata2", keypair=USER)
    assert "No matching items." in (await cli("vfolder", "list", keypair=USER)).out


async def test_vfolder_errors(cli: Any, storage: Any) -> None:
    r = await cli("vfolder", "info", "nope", keypair=USER, ok=False)
    assert r.code == 1 and "(HTTP 404)" in r.err and "Traceback" not in r.err
    missing = await cli("vfolder", "upload", "nope", "no-such-file.txt", keypair=USER, ok=False)
    assert missing.code == 4 and "No such file: no-such-file.txt" in missing.err
    bad_host = await cli("vfolder", "create", "x", "local:volume2", keypair=USER, ok=False)
    assert bad_host.code == 1 and "Traceback" not in bad_host.err
    assert len([line for line in bad_host.err.splitlines() if line.strip()]) == 1
    dup = await cli("vfolder", "create", "twice", keypair=USER)
    assert dup.code == 0
    again = await cli("vfolder", "create", "twice", keypair=USER, ok=False)
    assert "(HTTP 409)" in again.err or "(HTTP 400)" in again.err


async def test_vfolder_invitations(cli: Any, storage: Any) -> None:
    await cli("vfolder", "create", "shared1", keypair=USER)
    r = await cli("vfolder", "invite", "shared1", "admin@lablup.com", "-p", "ro", keypair=USER)
    assert "Invitation sent to:" in r.out
    inv = parse_table((await cli("vfolder", "invitations")).out)
    assert len(inv) == 1 and inv[0]["VFolder"] == "shared1" and inv[0]["Permission"] == "read-only"
    await cli("vfolder", "invitations", "--accept", inv[0]["ID"])
    names = [v["Name"] for v in parse_table((await cli("vfolder", "list")).out)]
    assert "shared1" in names
