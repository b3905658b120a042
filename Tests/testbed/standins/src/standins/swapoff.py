"""swapoff stand-in: deactivates the node's simulated swap areas (kernel.py).

    swapoff -a [-v]        every active area (and fstab's swap lines that are active)
    swapoff [-v] DEVICE... one area; not active: "swapoff failed: Invalid argument", exit 4 (util-linux)
"""

import sys

from . import common, kernel


def body(args):
    all_areas = verbose = False
    devices = []
    for arg in args:
        if arg in ("-a", "--all"):
            all_areas = True
        elif arg in ("-v", "--verbose"):
            verbose = True
        elif arg.startswith("-"):
            raise common.Refusal(f"unrecognized option '{arg}'\nTry 'swapoff --help' for more information.",
                                 code=16)
        else:
            devices.append(arg)
    if not (all_areas or devices):
        raise common.Refusal("bad usage\nTry 'swapoff --help' for more information.", code=16)
    active = [s["name"] for s in kernel.active_swaps()]
    targets = list(active) if all_areas else []
    code = 0
    for device in devices:
        if device not in active:
            print(f"swapoff: {device}: swapoff failed: Invalid argument", file=sys.stderr)
            code |= 4
        elif device not in targets:
            targets.append(device)
    if targets and not kernel.is_root():
        for device in targets:
            print(f"swapoff: {device}: swapoff failed: Operation not permitted", file=sys.stderr)
        return 4
    if targets:
        kernel.set_swaps([s for s in kernel.active_swaps() if s["name"] not in targets])
        if verbose:
            for device in targets:
                print(f"swapoff {device}")
    return code


def main():
    raise SystemExit(common.run("swapoff", body))


if __name__ == "__main__":
    main()
