"""swapon stand-in: the node's simulated swap areas (kernel.py), util-linux's output and refusals.

    swapon [--show[=COLUMNS]] [--noheadings] [--raw] [--bytes]    list active areas (also without args)
    swapon -s | --summary                                          /proc/swaps format
    swapon -a [-e] [-v]                                            activate fstab's swap lines (not noauto)
    swapon [-v] DEVICE...                                          activate DEVICE

The areas are not real files: /swap.img need not exist (the node's / is the host's, read-only).
"""

import sys

from . import common, kernel

COLUMNS = {"NAME": "name", "TYPE": "type", "SIZE": "size", "USED": "used", "PRIO": "prio"}
RIGHT = {"SIZE", "USED", "PRIO"}


def human(size):
    """util-linux's size_to_human_string: 1024-based, one decimal unless it is .0."""
    units = "BKMGTPE"
    value, exponent = float(size), 0
    while value >= 1024 and exponent < len(units) - 1:
        value /= 1024
        exponent += 1
    if exponent == 0:
        return f"{size}B"
    rounded = round(value, 1)
    if rounded == int(rounded):
        return f"{int(rounded)}{units[exponent]}"
    return f"{rounded}{units[exponent]}"


def show(columns, headings=True, raw=False, in_bytes=False):
    rows = []
    for swap in kernel.active_swaps():
        row = []
        for column in columns:
            value = swap[COLUMNS[column]]
            if column in ("SIZE", "USED") and not in_bytes:
                value = human(value)
            row.append(str(value))
        rows.append(row)
    if not rows:
        return  # util-linux prints nothing at all, not even the heading
    table = ([columns] if headings else []) + rows
    if raw:
        for row in table:
            print(" ".join(row))
        return
    widths = [max(len(r[i]) for r in table) for i in range(len(columns))]
    for row in table:
        cells = []
        for i, cell in enumerate(row):
            last = i == len(columns) - 1
            if columns[i] in RIGHT:
                cells.append(cell.rjust(widths[i]))
            else:
                cells.append(cell if last else cell.ljust(widths[i]))
        print(" ".join(cells))


def summary():
    swaps = kernel.active_swaps()
    print("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority")
    for s in swaps:
        print(f"{s['name']:<40}{s['type']}\t\t{s['size'] // 1024}\t\t{s['used'] // 1024}\t\t{s['prio']}")


def activate(device, verbose):
    if not kernel.is_root():
        print(f"swapon: {device}: swapon failed: Operation not permitted", file=sys.stderr)
        return 255
    if any(s["name"] == device for s in kernel.active_swaps()):
        print(f"swapon: {device}: swapon failed: Device or resource busy", file=sys.stderr)
        return 255
    kernel.activate_swap(device)
    if verbose:
        print(f"swapon: {device}: found signature [pagesize=4096, signature=swap]")
        print(f"swapon {device}")
    return 0


def body(args):
    show_columns = None
    headings, raw, in_bytes, all_areas, verbose, summary_mode = True, False, False, False, False, False
    devices = []
    for arg in args:
        if arg == "--show":
            show_columns = list(COLUMNS)
        elif arg.startswith("--show="):
            show_columns = [c.strip().upper() for c in arg.split("=", 1)[1].split(",") if c.strip()]
            unknown = [c for c in show_columns if c not in COLUMNS]
            if unknown:
                raise common.Refusal(f"unknown column: {unknown[0]}", code=1)
        elif arg == "--noheadings":
            headings = False
        elif arg == "--raw":
            raw = True
        elif arg == "--bytes":
            in_bytes = True
        elif arg in ("-a", "--all"):
            all_areas = True
        elif arg in ("-e", "--ifexists", "-f", "--fixpgsz"):
            pass
        elif arg in ("-v", "--verbose"):
            verbose = True
        elif arg in ("-s", "--summary"):
            summary_mode = True
        elif arg.startswith("-"):
            raise common.Refusal(f"unrecognized option '{arg}'\nTry 'swapon --help' for more information.", code=1)
        else:
            devices.append(arg)
    if summary_mode:
        summary()
        return 0
    if show_columns is not None or not (all_areas or devices):
        show(show_columns or list(COLUMNS), headings, raw, in_bytes)
        return 0
    code = 0
    if all_areas:
        active = {s["name"] for s in kernel.active_swaps()}
        for device, options in kernel.fstab_swaps():
            if "noauto" in options or device in active:
                continue
            code |= activate(device, verbose)
    for device in devices:
        code |= activate(device, verbose)
    return code


def main():
    raise SystemExit(common.run("swapon", body))


if __name__ == "__main__":
    main()
