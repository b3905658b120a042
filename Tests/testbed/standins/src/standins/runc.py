"""Stand-in for runc 1.4.3: ``--version`` (and ``-v``/``version``) as the release binary prints it. No container can
run in the testbed (no namespaces or cgroups of its own), so every other command is refused."""

import sys

from . import common

VERSION_TEXT = """runc version 1.4.3
commit: v1.4.3-0-gislet-testbed-standin
spec: 1.2.1
go: go1.24.9
libseccomp: 2.5.6"""


def body(args):
    if not args or args[0] in ("--version", "-v", "version"):
        if not args:
            print("NAME:\n   runc - Open Container Initiative runtime\n\nUSAGE:\n   runc [global options] command "
                  "[command options] [arguments...]")
            return 0
        print(VERSION_TEXT)
        return 0
    if args[0] in ("--help", "-h", "help"):
        print("NAME:\n   runc - Open Container Initiative runtime")
        return 0
    raise common.Refusal(f"{' '.join(args[:1])}: containers cannot run in the testbed (runc stand-in)")


def main():
    sys.exit(common.run("runc", body))


if __name__ == "__main__":
    main()
