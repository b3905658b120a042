"""What every stand-in shares: where the shared state lives, the call record, failure injection,
the simulated clock and locking.

Layout of the shared folder (``/run/islet-testbed`` in every node, ``$ISLET_TESTBED_DIR/state/shared``
on the host); override with ``ISLET_STANDIN_SHARED`` (the stand-ins' own tests do):

    standins/calls.jsonl            one JSON line per call: time, node, program, argv, exit, stdin?
    standins/fail-once/NODE/WHAT    present: the next call matching WHAT on NODE fails once, file removed
    standins/clock-offset           seconds added to the real clock (a test makes tokens expire)
    standins/lock                   flock for the simulated cluster
    cluster/                        the simulated Kubernetes cluster (owned by the kubernetes stand-ins)

A node's own simulated kernel and init state (loaded modules, sysctls, swap, units) lives in the node's
private ``/run/islet-sim`` (tmpfs: lost when the node stops, like a reboot); override with
``ISLET_STANDIN_RUN``.
"""

import contextlib
import fcntl
import json
import os
import socket
import sys
import time

SHARED = os.environ.get("ISLET_STANDIN_SHARED", "/run/islet-testbed")
NODE_RUN = os.environ.get("ISLET_STANDIN_RUN", "/run/islet-sim")
STANDINS = os.path.join(SHARED, "standins")
# Prefix for the node's own files (/etc/kubernetes, /var/lib/kubelet, /etc/cni ...): empty in a testbed node,
# a temporary folder in the stand-ins' own tests, so they need no testbed.
ROOT = os.environ.get("ISLET_STANDIN_ROOT", "")


def root(path):
    """The node's file ``path`` (absolute, as the real program names it) under the ROOT prefix."""
    return ROOT + path if ROOT and path.startswith("/") else path


def node_name():
    """The node's name: its hostname (each testbed node has its own UTS namespace)."""
    return os.environ.get("ISLET_STANDIN_NODE") or socket.gethostname()


def now():
    """The simulated clock: real time plus the offset a test set."""
    try:
        with open(os.path.join(STANDINS, "clock-offset")) as f:
            offset = float(f.read().strip() or 0)
    except (FileNotFoundError, ValueError):
        offset = 0.0
    return time.time() + offset


def _append_line(path, line):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def record(program, argv, exit_code, **extra):
    """Appends one call to the shared record (a single write, so lines of concurrent calls never mix)."""
    entry = {"time": round(time.time(), 3), "node": node_name(), "program": program, "argv": list(argv),
             "exit": exit_code}
    entry.update(extra)
    _append_line(os.path.join(STANDINS, "calls.jsonl"), json.dumps(entry, sort_keys=True))


def should_fail_once(what):
    """True once when a test placed ``fail-once/NODE/WHAT``; the marker is consumed."""
    marker = os.path.join(STANDINS, "fail-once", node_name(), what)
    try:
        os.unlink(marker)
        return True
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def locked(name="lock"):
    """An exclusive lock over the simulated cluster, shared by every node."""
    os.makedirs(STANDINS, exist_ok=True)
    with open(os.path.join(STANDINS, name), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_json_atomically(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
    os.replace(temporary, path)


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


class Refusal(Exception):
    """What the real program would refuse: printed as ``PROGRAM: message`` and exit code ``code``."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def run(program, body, argv=None):
    """Runs a stand-in's body, records the call and turns a Refusal into the real program's exit code.

    ``body(args)`` returns an exit code (None = 0). A failure injected with fail-once for ``program`` or
    ``program-SUBCOMMAND`` fails before the body runs, as a crash of the real program would.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    subcommand = next((a for a in args if not a.startswith("-")), "")
    code = 0
    try:
        if should_fail_once(f"{program}-{subcommand}") or should_fail_once(program):
            raise Refusal(f"injected failure (testbed fail-once marker for {program} {subcommand})".rstrip())
        code = body(args) or 0
    except Refusal as refusal:
        print(f"{program}: {refusal}", file=sys.stderr)
        code = refusal.code
    finally:
        pass
    record(program, args, code)
    return code
