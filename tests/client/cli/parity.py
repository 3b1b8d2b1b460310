"""The parity harness: one scenario list, run by our `backend.ai` and by the official client
23.9.10 against the same server, compared step by step after normalizing decoration.

A step's result is (exit code, normalized output). Normalizers keep what a user relies on
(rows and their fields, key/value lines, file contents) and drop what legitimately differs
between two runs or two implementations (timestamps, generated IDs, status-line glyphs,
column widths). Steps may capture values (e.g. a template ID) for later steps.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.cli.clirunner import Result, Runner
from manager.helpers import parse_table

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?")
MTIME_RE = re.compile(r"[A-Z][a-z]{2} \d{2} \d{4} \d{2}:\d{2}:\d{2}")
VOLATILE_COLUMNS = {"Created At", "Last Used", "Modified", "modified", "Last Updated", "Status Info"}
NO_ROWS = ("No matching items", "There are no matching", "There is no", "NoItems", "No invitations")


def scrub(text: str) -> str:
    text = UUID_RE.sub("<uuid>", text)
    text = TIME_RE.sub("<time>", text)
    return MTIME_RE.sub("<mtime>", text)


def rows(res: Result) -> Any:
    """A listing: its rows (volatile columns dropped). "No rows" in any wording is []."""
    out = res.out
    if not out.strip() or any(m in res.text for m in NO_ROWS) and "---" not in out:
        # The official client exits 1 with a NoItems traceback on an empty paginated listing
        # when stdout is not a TTY (its bug); ours prints "No matching items." and exits 0.
        return 0 if "NoItems" in res.text else res.code, []
    table = parse_table(out)
    return res.code, [{k: scrub(v) for k, v in r.items() if k not in VOLATILE_COLUMNS} for r in table]


def kv_lines(skip: Sequence[str] = ()) -> Callable[[Result], Any]:
    """`Key: value` lines (status glyphs removed), except keys in `skip`."""
    def norm(res: Result) -> Any:
        pairs = {}
        for line in res.text.splitlines():
            line = line.lstrip("\u2713\u2714\u2717\u2718\u2219\u22ef- \t").strip()
            key, sep, value = line.partition(":")
            if sep and key and key not in skip:
                pairs[key.strip()] = scrub(value.strip())
        return res.code, pairs
    return norm


def status_only(res: Result) -> Any:
    """Just whether it worked (for steps whose wording is free, e.g. "Deleted." vs "Done.")."""
    return res.code


def content(res: Result) -> Any:
    """Printed file/template content, blank lines ignored (the official client doubles
    newlines when it reads standard input)."""
    return res.code, [scrub(line.rstrip()) for line in res.out.splitlines() if line.strip()]


def json_items(res: Result) -> Any:
    data = json.loads(res.out)
    items = [{k: v for k, v in i.items() if k not in ("created_at", "last_used", "status_info")}
             for i in data.get("items", [])]
    return res.code, data.get("total_count"), json.loads(scrub(json.dumps(items)))


def file_equals(path: str) -> Callable[[Result], Any]:
    def norm(res: Result) -> Any:
        return res.code
    norm.check_file = path  # type: ignore[attr-defined]
    return norm


@dataclass
class Step:
    args: Sequence[str]
    norm: Callable[[Result], Any] = rows
    input: str | None = None
    capture: tuple[str, str] | None = None      # (variable, regex with one group) over the output
    cwd: str | None = None                      # relative to the runner's work dir
    expect_ok: bool | None = None               # None: either, as long as both CLIs agree
    produces: str | None = None                 # a local file the step must create (compared by content)


@dataclass
class Outcome:
    step: Step
    args: list[str]
    raw: Result
    value: Any
    produced: bytes | None = None


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)


async def run_scenario(runner: Runner, steps: Sequence[Step], workdir: Path,
                       variables: dict[str, str] | None = None) -> Run:
    variables = dict(variables or {})
    workdir.mkdir(parents=True, exist_ok=True)
    run = Run()
    for step in steps:
        args = [a.format(**variables) for a in step.args]
        cwd = workdir / step.cwd if step.cwd else workdir
        cwd.mkdir(parents=True, exist_ok=True)
        res = await runner(*args, input=step.input, ok=step.expect_ok, cwd=cwd)
        if step.capture:
            m = re.search(step.capture[1], res.text)
            assert m, f"{args}: nothing matches {step.capture[1]!r} in:\n{res.text}"
            variables[step.capture[0]] = m.group(1)
        produced = (cwd / step.produces).read_bytes() if step.produces and (cwd / step.produces).exists() else None
        run.outcomes.append(Outcome(step, args, res, step.norm(res), produced))
    return run


def side_by_side(ours: Run, theirs: Run) -> str:
    out: list[str] = []
    for a, b in zip(ours.outcomes, theirs.outcomes, strict=True):
        same = a.value == b.value and a.produced == b.produced
        out.append(f"{'SAME' if same else 'DIFF'}  backend.ai {' '.join(a.args)}")
        if not same or os.environ.get("BACKEND_CLI_PARITY_SHOW"):
            out.append(f"  ours     (exit {a.raw.code}): {a.value!r}")
            out.append(f"  official (exit {b.raw.code}): {b.value!r}")
            if os.environ.get("BACKEND_CLI_PARITY_SHOW"):
                out.append("  --- ours raw ---\n" + _indent(a.raw.text))
                out.append("  --- official raw ---\n" + _indent(b.raw.text))
    return "\n".join(out)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())


def assert_same(ours: Run, theirs: Run) -> None:
    report = side_by_side(ours, theirs)
    if os.environ.get("BACKEND_CLI_PARITY_SHOW"):
        print(report)
    diffs = [a for a, b in zip(ours.outcomes, theirs.outcomes, strict=True)
             if a.value != b.value or a.produced != b.produced]
    assert not diffs, "the two CLIs disagree:\n" + report
