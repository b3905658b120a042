"""Stand-in for containerd-shim-runc-v2 of containerd 2.3.4: ``-v`` prints the version as the real shim does. The
shim is started only by containerd to run a task; no task runs in the testbed, so anything else is refused."""

import sys

from . import common, containerd

PROGRAM = "containerd-shim-runc-v2"


def body(args):
    if args and args[0] in ("-v", "--v", "-version", "--version"):
        print(f"{PROGRAM}:\n  Version:  {containerd.VERSION}\n  Revision: {containerd.REVISION}\n"
              f"  Go version: {containerd.GO_VERSION}\n")
        return 0
    raise common.Refusal("containers cannot run in the testbed: the shim stand-in starts no task")


def main():
    sys.exit(common.run(PROGRAM, body))


if __name__ == "__main__":
    main()
