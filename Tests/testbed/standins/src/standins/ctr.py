"""Stand-in for containerd 2.3.4's ``ctr``: ``--version``, ``version`` and ``images ls`` against the daemon's socket
(``--address``/``-a``, ``CONTAINERD_ADDRESS``, default /run/containerd/containerd.sock; ``--namespace``/``-n``,
``CONTAINERD_NAMESPACE``, default ``default``). With the daemon down it fails as ctr does."""

import os
import sys

from . import common, containerd


def _client_block():
    return (f"Client:\n  Version:  {containerd.VERSION}\n  Revision: {containerd.REVISION}\n"
            f"  Go version: {containerd.GO_VERSION}\n")


def _call(address, request):
    try:
        answer = containerd.call(address, request, timeout=10)
    except containerd.Unavailable as error:
        raise common.Refusal(f'failed to dial "{address}": connection error: desc = "transport: error while '
                             f'dialing: {error}"')
    if "error" in answer:
        raise common.Refusal(f"rpc error: code = {answer['error']['code']} desc = {answer['error']['message']}")
    return answer


def cmd_version(address, namespace, args):
    if args:
        raise common.Refusal(f"flag provided but not defined: {args[0]}")
    print(_client_block())
    answer = _call(address, {"method": "version"})
    print(f"Server:\n  Version:  {answer['version']}\n  Revision: {answer['revision']}\n  UUID: {answer['uuid']}")
    return 0


def cmd_images(address, namespace, args):
    if not args or args[0] not in ("ls", "list"):
        raise common.Refusal(f"images {' '.join(args)}: the testbed stand-in simulates only `images ls`")
    quiet = any(a in ("-q", "--quiet") for a in args[1:])
    images = _call(address, {"method": "images", "namespace": namespace})["images"]
    images.sort(key=lambda r: r["name"])
    if quiet:
        for record in images:
            print(record["name"])
        return 0
    rows = [["REF", "TYPE", "DIGEST", "SIZE", "PLATFORMS", "LABELS"]]
    for record in images:
        rows.append([record["name"], record.get("mediaType", ""), record["repoDigest"],
                     f"{record['size'] / 1024:.1f} KiB", "linux/amd64",
                     "io.cri-containerd.image=managed" + (",io.cri-containerd.pinned=pinned"
                                                          if record.get("pinned") else "")])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(" ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0


COMMANDS = {"version": cmd_version, "images": cmd_images, "image": cmd_images, "i": cmd_images}


def body(args):
    address = os.environ.get("CONTAINERD_ADDRESS") or containerd.DEFAULT_ADDRESS
    namespace = os.environ.get("CONTAINERD_NAMESPACE") or "default"
    rest = list(args)
    while rest and rest[0].startswith("-"):
        arg = rest.pop(0)
        name, _, inline = arg.partition("=")
        if arg in ("--version", "-v"):
            print(f"ctr github.com/containerd/containerd/v2 {containerd.VERSION}")
            return 0
        if name in ("--address", "-a", "--namespace", "-n", "--timeout", "--connect-timeout"):
            value = inline or (rest.pop(0) if rest else None)
            if value is None:
                raise common.Refusal(f"flag needs an argument: {arg}")
            if name in ("--address", "-a"):
                address = value
            elif name in ("--namespace", "-n"):
                namespace = value
            continue
        if arg in ("--debug",):
            continue
        raise common.Refusal(f"flag provided but not defined: {arg}")
    if not rest:
        print(f"NAME:\n   ctr - \n\nUSAGE:\n   ctr [global options] command [command options]\n\n"
              f"VERSION:\n   {containerd.VERSION}")
        return 0
    command = rest.pop(0)
    handler = COMMANDS.get(command)
    if handler is None:
        raise common.Refusal(f"No help topic for '{command}'")
    return handler(address, namespace, rest)


def main():
    sys.exit(common.run("ctr", body))


if __name__ == "__main__":
    main()
