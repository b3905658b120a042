"""lsmod stand-in: the node's simulated loaded modules, newest first, as /proc/modules lists them."""

from . import common, kernel


def body(args):
    if args:
        raise common.Refusal("Usage: lsmod", code=1)  # lsmod takes no arguments
    loaded = kernel.loaded_modules()
    print("Module                  Size  Used by")
    for module in reversed(loaded):
        users = kernel.users_of(module, loaded)
        size = kernel.MODULES.get(module, (0, []))[0]
        print(f"{module:<19} {size:>8}  {len(users)}{(' ' + ','.join(users)) if users else ''}")
    return 0


def main():
    raise SystemExit(common.run("lsmod", body))


if __name__ == "__main__":
    main()
