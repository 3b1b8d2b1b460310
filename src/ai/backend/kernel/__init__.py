"""The kernel runner: the daemon inside every kernel container.

It runs on the krunner Python (mounted read-only at /opt/backend.ai, with this package in its
site-packages), uses only the standard library and pyzmq, and never imports
ai.backend.common. The agent talks to it over ZeroMQ:

- port 2000 (PULL, agent -> runner): multipart [op, JSON body, optional binary payload]
- port 2001 (PUSH, runner -> agent): multipart [kind, JSON body, optional binary payload]

Ops: code (query mode), batch, input, interrupt, complete, start-service, shutdown-service,
list-files, upload-file, download-file, ping. Runs are processed one at a time in arrival
order; every message about a run carries its `run_id`, replies to requests their `req_id`.
Kinds a run produces: stdout, stderr, media, html, log, waiting-input, clean-finished,
build-finished, finished ({"exitCode", "exceptions", "options"}; exceptions as the manual's
["name", [args], raised_outside_user_code, traceback]).

The manual's original query-mode exchange also works: a two-frame message whose first frame
is not an op name is (identifier, code); the reply is one frame with the JSON object
{"stdout", "stderr", "exceptions", "media", "options"}.

User code runs as the kernel uid: the runner starts as root only to prepare the container
(passwd entry, /home/work ownership, /opt/container/bootstrap.sh), then drops privileges.
Query mode keeps one interpreter of the image's own Python (ai.backend.kernel.repl_child)
alive across executions, so variables survive.
"""

__version__ = "23.09.0"

OPS = frozenset({
    "code", "batch", "input", "interrupt", "complete", "start-service", "shutdown-service",
    "list-files", "upload-file", "download-file", "ping",
})
