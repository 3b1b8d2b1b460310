"""The query-mode interpreter, run by the image's own Python (any CPython 3.6+).

Started by the runner as `<runtime_path> -u repl_child.py CMD_FD EVT_FD`. It reads JSON-line
commands from CMD_FD (exec, input, complete) and writes JSON-line events to EVT_FD: ready,
out (stdout/stderr text), media, html, input (a prompt), done (with exceptions), completion.
Globals live in one namespace for the whole session, so variables survive between runs.
SIGINT interrupts the running code only (KeyboardInterrupt), never the interpreter itself.
Output of subprocesses goes to the real fds 1 and 2, which the runner also captures.

Standard library only, and no syntax newer than 3.6: this file runs on whatever Python the
image has.
"""

import builtins
import io
import json
import os
import queue
import signal
import sys
import threading
import traceback
import types

CHUNK = 32 * 1024


class State:
    executing = False
    in_protocol = 0
    deferred_interrupt = False


class Channel:
    def __init__(self, fd):
        self.fd = fd
        self.lock = threading.Lock()

    def send(self, obj):
        data = (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8", "replace")
        State.in_protocol += 1
        try:
            with self.lock:
                view = memoryview(data)
                while view:
                    n = os.write(self.fd, view)
                    view = view[n:]
        finally:
            State.in_protocol -= 1
        if State.deferred_interrupt and State.executing and not State.in_protocol:
            State.deferred_interrupt = False
            raise KeyboardInterrupt


class OutStream(io.TextIOBase):
    """sys.stdout / sys.stderr: line-buffered text sent as events, in print order."""

    def __init__(self, chan, name, fd, streams):
        self.chan = chan
        self.name = name
        self._fd = fd
        self._buf = []
        self._size = 0
        self._streams = streams

    @property
    def encoding(self):  # type: ignore[override]
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        for other in self._streams:
            if other is not self and other._buf:
                other.flush()
        self._buf.append(s)
        self._size += len(s)
        if self.name == "stderr" or "\n" in s or self._size >= CHUNK:
            self.flush()
        return len(s)

    def flush(self):
        if not self._buf:
            return
        text = "".join(self._buf)
        self._buf = []
        self._size = 0
        for i in range(0, len(text), CHUNK):
            self.chan.send({"t": "out", "s": self.name, "d": text[i:i + CHUNK]})


class InStream(io.TextIOBase):
    """sys.stdin: each read asks the user through the execute API (waiting-input)."""

    def __init__(self, ask):
        self._ask = ask

    def readable(self):
        return True

    def isatty(self):
        return False

    def readline(self, size=-1):
        return self._ask("", False) + "\n"

    def read(self, size=-1):
        return self.readline()


def _plain(value):
    if value is None or isinstance(value, (str, int, float, bool)):  # noqa: UP038 (runs on old Pythons)
        return value
    return repr(value)


class Interpreter:
    def __init__(self, cmd_fd, evt_fd):
        self.chan = Channel(evt_fd)
        self.cmd_fd = cmd_fd
        self.codes = queue.Queue()  # type: queue.Queue[str]
        self.inputs = queue.Queue()  # type: queue.Queue[str]
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.streams = []  # type: list[OutStream]
        self.stdout = OutStream(self.chan, "stdout", 1, self.streams)
        self.stderr = OutStream(self.chan, "stderr", 2, self.streams)
        self.streams.extend([self.stdout, self.stderr])

    # --- user-facing hooks -------------------------------------------------------------------

    def flush_all(self):
        for s in self.streams:
            s.flush()

    def ask(self, prompt, password):
        self.flush_all()
        self.chan.send({"t": "input", "prompt": str(prompt), "password": bool(password)})
        return self.inputs.get()

    def install_hooks(self):
        sys.stdout = self.stdout
        sys.stderr = self.stderr
        sys.stdin = InStream(self.ask)
        builtins.input = lambda prompt="": self.ask(prompt, False)
        try:
            import getpass
            getpass.getpass = lambda prompt="Password: ", stream=None: self.ask(prompt, True)
        except ImportError:
            pass
        display = types.ModuleType("backend_ai_display")
        display.__doc__ = "Send rich output to the console: display(data, mime), html(markup)."

        def show(data, mime="text/plain"):
            self.flush_all()
            self.chan.send({"t": "media", "mime": str(mime), "data": data if isinstance(data, str) else repr(data)})

        def html(markup):
            self.flush_all()
            self.chan.send({"t": "html", "data": str(markup)})

        setattr(display, "display", show)  # noqa: B010
        setattr(display, "html", html)  # noqa: B010
        sys.modules["backend_ai_display"] = display

    # --- commands ----------------------------------------------------------------------------

    def read_commands(self):
        with os.fdopen(self.cmd_fd, "rb") as f:
            for line in f:
                try:
                    msg = json.loads(line.decode("utf-8"))
                except ValueError:
                    continue
                op = msg.get("op")
                if op == "exec":
                    self.codes.put(msg.get("code", ""))
                elif op == "input":
                    self.inputs.put(msg.get("text", ""))
                elif op == "complete":
                    self.chan.send({"t": "completion", "id": msg.get("id"), "items": self.complete(msg.get("text", ""))})
        os._exit(0)  # the runner is gone

    def complete(self, text):
        if not text or not text.strip():
            return []
        import rlcompleter
        completer = rlcompleter.Completer(self.namespace)
        items = []
        try:
            for state in range(500):
                c = completer.complete(text, state)
                if c is None:
                    break
                c = c.rstrip("(")
                if c not in items:
                    items.append(c)
        except Exception:
            pass
        return items

    def execute(self, code):
        exceptions = []
        try:
            State.executing = True
            try:
                exec(compile(code, "<input>", "exec"), self.namespace)
            finally:
                State.executing = False
                State.deferred_interrupt = False
        except BaseException:
            etype, value, tb = sys.exc_info()
            tb = tb.tb_next if tb is not None else None  # hide this frame
            text = "".join(traceback.format_exception(etype, value, tb))
            try:
                self.stderr.write(text)
            except Exception:
                pass
            args = [_plain(a) for a in getattr(value, "args", ())]
            exceptions.append([getattr(etype, "__name__", "Exception"), args, False, text])
        self.flush_all()
        self.chan.send({"t": "done", "exceptions": exceptions})

    def run(self):
        def on_sigint(signum, frame):
            if not State.executing:
                return
            if State.in_protocol:
                State.deferred_interrupt = True
                return
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_sigint)
        self.install_hooks()
        threading.Thread(target=self.read_commands, name="commands", daemon=True).start()
        self.chan.send({"t": "ready", "python": sys.version.split()[0]})
        while True:
            try:
                code = self.codes.get()
            except KeyboardInterrupt:
                continue
            self.execute(code)


def main():
    # Behave like an interactive interpreter: the working directory comes first on sys.path,
    # not this file's directory (whose module names would shadow the user's).
    if sys.path and os.path.dirname(os.path.abspath(__file__)) == os.path.abspath(sys.path[0] or "."):
        sys.path[0] = ""
    Interpreter(int(sys.argv[1]), int(sys.argv[2])).run()


if __name__ == "__main__":
    main()
