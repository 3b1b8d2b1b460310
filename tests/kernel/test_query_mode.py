"""Query mode on a real runner process: context, console, input, interrupt, completion."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from ai.backend.agent.runner_channel import KernelRunnerChannel, UnknownRun

from .conftest import run_to_end, start_runner, stderr_of, stdout_of, stop_runner


async def test_print_returns_stdout_and_finished(runner: KernelRunnerChannel) -> None:
    r = await runner.execute("run-1", "query", "print(1)", flush_timeout=10)
    assert r == {"runId": "run-1", "status": "finished", "console": [["stdout", "1\n"]],
                 "exitCode": 0, "options": None, "files": []}


async def test_variables_survive_between_runs(runner: KernelRunnerChannel) -> None:
    await run_to_end(runner, "x = 40\ndef f(y):\n    return x + y\n")
    assert stdout_of(await run_to_end(runner, "print(f(2))")) == "42\n"


async def test_exceptions_go_to_stderr_and_keep_exit_code_zero(runner: KernelRunnerChannel) -> None:
    results = await run_to_end(runner, "print('before')\n1/0\n")
    assert stdout_of(results) == "before\n"
    err = stderr_of(results)
    assert "ZeroDivisionError: division by zero" in err and 'File "<input>", line 2' in err
    assert results[-1]["exitCode"] == 0
    bad = await run_to_end(runner, "def broken(:\n")
    assert "SyntaxError" in stderr_of(bad)
    # sys.exit() in user code ends the snippet, not the interpreter
    assert "SystemExit: 3" in stderr_of(await run_to_end(runner, "import sys; sys.exit(3)"))
    assert stdout_of(await run_to_end(runner, "print('alive')")) == "alive\n"


async def test_console_keeps_print_order_and_captures_subprocesses(runner: KernelRunnerChannel) -> None:
    results = await run_to_end(runner, (
        "import sys, os\n"
        "print('a')\nprint('b', file=sys.stderr)\nprint('c')\n"
        "sys.stdout.flush(); os.system('echo from-shell')\n"
    ))
    console = [item for r in results for item in r["console"]]
    assert console[:2] == [["stdout", "a\n"], ["stderr", "b\n"]]
    assert console[2][0] == "stdout" and console[2][1].startswith("c\n")
    assert "from-shell\n" in stdout_of(results)


async def test_media_and_html_items(runner: KernelRunnerChannel) -> None:
    results = await run_to_end(runner, (
        "from backend_ai_display import display, html\n"
        "display('<svg/>', 'image/svg+xml')\nhtml('<b>hi</b>')\n"
    ))
    console = [item for r in results for item in r["console"]]
    assert ["media", ["image/svg+xml", "<svg/>"]] in console
    assert ["html", "<b>hi</b>"] in console


async def test_user_input_round_trip(runner: KernelRunnerChannel) -> None:
    r1 = await runner.execute(None, "query", "name = input('Your name? ')\nprint('hello', name)", flush_timeout=10)
    assert r1["status"] == "waiting-input"
    assert r1["options"] == {"is_password": False}
    assert r1["console"] == [["stdout", "Your name? "]]
    r2 = await runner.execute(r1["runId"], "input", "Alice", flush_timeout=10)
    assert r2["status"] == "finished" and r2["console"] == [["stdout", "hello Alice\n"]]
    r3 = await runner.execute(None, "query", "import getpass\npw = getpass.getpass()\nprint(len(pw))", flush_timeout=10)
    assert r3["status"] == "waiting-input" and r3["options"] == {"is_password": True}
    r4 = await runner.execute(r3["runId"], "input", "secret", flush_timeout=10)
    assert r4["console"] == [["stdout", "6\n"]]


async def test_interrupt_a_busy_loop_then_run_more_code(runner: KernelRunnerChannel) -> None:
    await run_to_end(runner, "kept = 'still here'")
    r1 = await runner.execute(None, "query", "while True: pass", flush_timeout=0.5)
    assert r1["status"] == "continued"
    await runner.interrupt()
    r2 = await runner.execute(r1["runId"], "continue", "", flush_timeout=10)
    assert r2["status"] == "finished"
    assert "KeyboardInterrupt" in stderr_of([r2])
    assert stdout_of(await run_to_end(runner, "print(kept)")) == "still here\n"


async def test_code_that_ignores_interrupts_gets_a_fresh_interpreter(runner: KernelRunnerChannel) -> None:
    await run_to_end(runner, "lost = 1")
    code = "import time\nwhile True:\n    try:\n        time.sleep(0.01)\n    except KeyboardInterrupt:\n        pass\n"
    r1 = await runner.execute(None, "query", code, flush_timeout=0.3)
    await runner.interrupt()
    results = [r1, await runner.execute(r1["runId"], "continue", "", flush_timeout=15)]
    assert results[-1]["status"] == "finished"
    assert "The interpreter exited" in stderr_of(results)
    assert "NameError" in stderr_of(await run_to_end(runner, "print(lost)"))


async def test_long_runs_report_continued_with_partial_output(runner: KernelRunnerChannel) -> None:
    r1 = await runner.execute(None, "query", "import time\nprint('start', flush=True)\ntime.sleep(1.5)\nprint('end')",
                              flush_timeout=0.7)
    assert r1["status"] == "continued" and r1["console"] == [["stdout", "start\n"]] and r1["exitCode"] is None
    r2 = await runner.execute(r1["runId"], "continue", "", flush_timeout=10)
    assert r2["status"] == "finished" and r2["console"] == [["stdout", "end\n"]]


async def test_runs_are_processed_in_arrival_order(runner: KernelRunnerChannel) -> None:
    first = asyncio.create_task(runner.execute("first", "query", "import time; time.sleep(1); print('one')",
                                               flush_timeout=10))
    await asyncio.sleep(0.1)
    second = await runner.execute("second", "query", "print('two')", flush_timeout=0.3)
    assert second["status"] == "continued" and second["console"] == []  # queued behind "first"
    assert (await first)["console"] == [["stdout", "one\n"]]
    assert (await runner.execute("second", "continue", "", flush_timeout=10))["console"] == [["stdout", "two\n"]]


async def test_continue_of_an_unknown_run_is_an_error(runner: KernelRunnerChannel) -> None:
    try:
        await runner.execute("nope", "continue", "")
    except UnknownRun as e:
        assert "nope" in str(e)
    else:
        raise AssertionError("expected UnknownRun")


async def test_interpreter_exit_is_reported_and_recovered(runner: KernelRunnerChannel) -> None:
    results = await run_to_end(runner, "import os; os._exit(3)")
    assert results[-1]["status"] == "finished"
    assert "The interpreter exited (code 3)" in stderr_of(results)
    assert stdout_of(await run_to_end(runner, "print('back')")) == "back\n"


async def test_completion_returns_candidates(runner: KernelRunnerChannel) -> None:
    await run_to_end(runner, "import os\nmy_variable = 1\nmy_value = 2")
    assert {"my_variable", "my_value"} <= set(await runner.complete("my_v"))
    assert "os.path" in await runner.complete("", {"line": "x = os.pa", "col": 9})
    assert await runner.complete("") == []


def _old_pythons() -> list[str]:
    """CPython 3.6+ interpreters on this machine besides the venv's (pyenv keeps 3.9 for Pants)."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = []
    for minor in ("3.6", "3.7", "3.8", "3.9"):
        exe = sorted(root.glob(f"{minor}.*/bin/python{minor}"))
        if exe:
            found.append(str(exe[-1]))
    return found


OLD_PYTHONS = _old_pythons()


def test_an_old_python_is_available_for_the_next_test() -> None:
    assert any("3.9" in p for p in OLD_PYTHONS), "pyenv's CPython 3.9 (used by Pants) was not found"


@pytest.mark.parametrize("python", OLD_PYTHONS, ids=lambda p: Path(p).name)
async def test_query_mode_on_older_image_pythons(python: str, tmp_path: Path) -> None:
    """repl_child runs on whatever Python the image has, not only the newest."""
    rp = await start_runner(tmp_path, "--runtime-path", python)
    ch = rp.channel()
    try:
        await ch.connect()
        await ch.wait_ready(30)
        results = await run_to_end(ch, "import sys\nv = sys.version_info[:2]\nprint('%d.%d' % v)")
        assert stdout_of(results) == Path(python).name.removeprefix("python") + "\n"
        r1 = await ch.execute(None, "query", "x = input('? ')\nprint(x * 2)", flush_timeout=10)
        assert r1["status"] == "waiting-input"
        r2 = await ch.execute(r1["runId"], "input", "ab", flush_timeout=10)
        assert r2["console"] == [["stdout", "abab\n"]]
        assert "ZeroDivisionError" in stderr_of(await run_to_end(ch, "1/0"))
        assert "sys.version" in await ch.complete("sys.vers")
    finally:
        await ch.close()
        await stop_runner(rp)


async def test_a_broken_runtime_is_reported_not_hung(tmp_path: Path) -> None:
    rp = await start_runner(tmp_path, "--runtime-path", "/bin/false")
    ch = rp.channel()
    try:
        await ch.connect()
        await ch.wait_ready(30)
        results = await run_to_end(ch, "print(1)")
        assert results[-1]["exitCode"] == -1
        assert "exited at startup (code 1)" in stderr_of(results)
    finally:
        await ch.close()
        await stop_runner(rp)
