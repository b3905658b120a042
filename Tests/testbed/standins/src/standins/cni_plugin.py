"""Stand-in for the CNI reference plugins v1.9.1 (bridge, host-local, loopback, portmap, bandwidth, firewall...),
one module for all: the program is chosen by argv[0], as the plugins' binaries are separate files.

``CNI_COMMAND=VERSION`` prints the supported versions as skel does; no ``CNI_COMMAND`` prints the about text
(stderr, exit 0). ADD/DEL/CHECK/STATUS/GC need a container runtime and network namespaces the testbed lacks:
they fail with a CNI error object on stdout, exit 1."""

import json
import os
import sys

from . import common

VERSION = "v1.9.1"
SUPPORTED = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
PLUGINS = {"bridge", "host-local", "loopback", "portmap", "bandwidth", "firewall", "tuning", "ptp", "vlan",
           "macvlan", "ipvlan", "host-device", "dhcp", "static", "sbr", "vrf", "tap", "dummy"}


def program_name():
    return os.path.basename(sys.argv[0]) or "cni-plugin"


def body(args):
    name = program_name()
    command = os.environ.get("CNI_COMMAND", "")
    if command == "":
        print(f"CNI {name} plugin {VERSION}\nCNI protocol versions supported: {', '.join(SUPPORTED)}",
              file=sys.stderr)
        return 0
    if command == "VERSION":
        print(json.dumps({"cniVersion": "1.1.0", "supportedVersions": SUPPORTED}))
        return 0
    if command in ("ADD", "DEL", "CHECK", "STATUS", "GC"):
        print(json.dumps({"cniVersion": "1.1.0", "code": 999,
                          "msg": f"{name}: CNI_COMMAND={command} needs a container runtime and network namespaces, "
                                 "which the testbed does not have"}))
        return 1
    print(json.dumps({"cniVersion": "1.1.0", "code": 4, "msg": f"unknown CNI_COMMAND: {command}"}))
    return 1


def main():
    sys.exit(common.run(program_name(), body))


if __name__ == "__main__":
    main()
