"""Stand-in for crictl v1.36.0: ``--version``, ``info``, ``pull IMAGE``, ``images``, ``inspecti IMAGE``.

The endpoint comes from ``--runtime-endpoint``/``-r`` (or ``--image-endpoint``/``-i`` for image calls), else
``/etc/crictl.yaml`` (``--config``/``-c``), else crictl's deprecated default list with its warning. Every
command asks the containerd stand-in over its socket; containerd does the pull (registry_hosts), so a pull
follows the daemon's loaded config_path and the node's certs.d as the real pair does.
"""

import datetime
import json
import sys

from . import common, containerd, registry_hosts

VERSION = "v1.36.0"
DEFAULT_ENDPOINTS = ["unix:///run/containerd/containerd.sock", "unix:///run/crio/crio.sock",
                     "unix:///var/run/cri-dockerd.sock"]


class Fatal(Exception):
    """crictl's logrus fatal line: ``time="…" level=fatal msg="…"``, exit 1."""


def _fatal_line(message):
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return f'time="{stamp}" level=fatal msg={json.dumps(message)}'


def _warn(message):
    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    print(f'time="{stamp}" level=warning msg={json.dumps(message)}', file=sys.stderr)


def read_config(path):
    """The keys of /etc/crictl.yaml (flat ``key: value`` YAML, as crictl config writes it)."""
    values = {}
    try:
        with open(common.root(path)) as f:
            lines = f.readlines()
    except FileNotFoundError:
        return None
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        if ":" not in text or text.startswith((" ", "\t")):
            raise Fatal(f"load config file: yaml: line {number}: could not find expected ':'")
        key, value = text.split(":", 1)
        value = value.strip().strip("'\"")
        values[key.strip()] = value
    return values


def endpoints(options, image=False):
    flag = options.get("image-endpoint") if image else None
    flag = flag or options.get("runtime-endpoint")
    if flag:
        return [flag], False
    config = read_config(options.get("config", "/etc/crictl.yaml")) or {}
    configured = (config.get("image-endpoint") if image else None) or config.get("runtime-endpoint")
    if configured:
        return [configured], False
    return DEFAULT_ENDPOINTS, True


def _socket_path(endpoint):
    if endpoint.startswith("unix://"):
        return endpoint[len("unix://"):]
    if endpoint.startswith("/"):
        return endpoint
    raise Fatal(f'validate service connection: endpoint "{endpoint}": protocol not supported')


def _call(options, request, image=False):
    candidates, defaulted = endpoints(options, image)
    if defaulted:
        kind = "image" if image else "runtime"
        _warn(f"{kind} connect using default endpoints: [{' '.join(candidates)}]. As the default settings are now "
              "deprecated, you should set the endpoint instead.")
    last = None
    for endpoint in candidates:
        try:
            answer = containerd.call(_socket_path(endpoint), request)
        except containerd.Unavailable as error:
            last = (endpoint, error)
            continue
        if "error" in answer:
            error = answer["error"]
            raise Fatal(f"rpc error: code = {error['code']} desc = {error['message']}")
        return answer
    endpoint, error = last
    api = "image" if image else "runtime"
    raise Fatal(f'validate service connection: validate CRI v1 {api} API for endpoint "{endpoint}": rpc error: '
                f'code = Unavailable desc = connection error: desc = "transport: Error while dialing: {error}"')


def _short(digest):
    return digest.removeprefix("sha256:")[:13]


def _size(size):
    """crictl's units.HumanSizeWithPrecision(size, 3): decimal units."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            text = f"{size:.3g}"
            return f"{text}{unit}"
        size /= 1000.0
    return f"{size}B"


def _split_repo_tag(name):
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "<none>"


def _cri_image(record):
    return {"id": record["id"], "repoTags": [record["name"]] if record.get("tag") else [],
            "repoDigests": [f"{record['repository']}@{record['repoDigest']}"], "size": str(record["size"]),
            "uid": None, "username": "", "spec": None, "pinned": record.get("pinned", False)}


def cmd_images(options, args):
    quiet, digests, output, filter_text = False, False, "", None
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg == "--digests":
            digests = True
        elif arg in ("-v", "--verbose"):
            continue
        elif arg in ("-o", "--output"):
            output = rest.pop(0) if rest else ""
        elif arg.startswith("--output="):
            output = arg.split("=", 1)[1]
        elif arg.startswith("-"):
            raise Fatal(f"flag provided but not defined: {arg}")
        elif filter_text is None:
            filter_text = arg
        else:
            raise Fatal("only one image filter is allowed")
    images = _call(options, {"method": "images"}, image=True)["images"]
    if filter_text:
        try:
            wanted = registry_hosts.parse_reference(filter_text)
        except registry_hosts.PullError as error:
            raise Fatal(str(error))
        tagged = ":" in filter_text.rsplit("/", 1)[-1]
        images = [r for r in images if r["repository"] == wanted.name and (not tagged or r["name"] == str(wanted))]
    images.sort(key=lambda r: (r["repository"], r.get("tag") or ""))
    if output in ("json", "yaml"):
        print(json.dumps({"images": [_cri_image(r) for r in images]}, indent=2))
        return 0
    if output and output != "table":
        raise Fatal(f"unsupported output format {output!r}")
    if quiet:
        for record in images:
            print(record["id"])
        return 0
    header = ["IMAGE", "TAG"] + (["DIGEST"] if digests else []) + ["IMAGE ID", "SIZE"]
    rows = [header]
    for record in images:
        repository, tag = _split_repo_tag(record["name"]) if record.get("tag") else (record["repository"], "<none>")
        row = [repository, tag] + ([_short(record["repoDigest"])] if digests else []) + \
              [_short(record["id"]), _size(record["size"])]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
    return 0


def cmd_pull(options, args):
    image = None
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("--creds", "--auth", "--username", "-u", "--pod-config", "-p", "--annotation", "-a",
                   "--platform", "--pull-timeout"):
            if not rest:
                raise Fatal(f"flag needs an argument: {arg}")
            value = rest.pop(0)
            if arg in ("--creds", "--auth", "--username", "-u"):
                raise Fatal(f"{arg} {value}: registry credentials are not simulated by the testbed stand-in")
            if arg == "--platform" and value not in ("linux/amd64", "amd64"):
                raise Fatal(f"pulling image: platform {value} is not simulated (images are linux/amd64)")
        elif arg.startswith("-"):
            raise Fatal(f"flag provided but not defined: {arg}")
        elif image is None:
            image = arg
        else:
            raise Fatal("pulling image: only one image can be pulled at a time")
    if not image:
        raise Fatal("Image name cannot be empty")
    try:
        answer = _call(options, {"method": "pull", "image": image}, image=True)
    except Fatal as error:
        message = str(error)
        if message.startswith("rpc error:"):
            message = f"pulling image: {message}"
        raise Fatal(message)
    print(f"Image is up to date for {answer['image']['id']}")
    return 0


def cmd_inspecti(options, args):
    output = "json"
    names = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("-o", "--output"):
            output = rest.pop(0) if rest else ""
        elif arg in ("-q", "--quiet"):
            output = "quiet"
        elif arg.startswith("-"):
            raise Fatal(f"flag provided but not defined: {arg}")
        else:
            names.append(arg)
    if not names:
        raise Fatal("ID cannot be empty")
    for name in names:
        record = _call(options, {"method": "image_status", "image": name}, image=True)["image"]
        if record is None:
            raise Fatal(f'no such image "{name}" present')
        if output == "quiet":
            print(record["id"])
        else:
            print(json.dumps({"status": _cri_image(record), "info": {}}, indent=2))
    return 0


def cmd_info(options, args):
    for arg in args:
        if arg in ("-o", "--output"):
            continue
        if arg.startswith("-") and arg not in ("json", "yaml", "go-template"):
            raise Fatal(f"flag provided but not defined: {arg}")
    answer = _call(options, {"method": "info"})
    print(json.dumps({"status": answer["status"], "config": answer["config"],
                      "lastCNILoadStatus": answer["lastCNILoadStatus"]}, indent=2))
    return 0


COMMANDS = {"images": cmd_images, "image": cmd_images, "img": cmd_images, "pull": cmd_pull,
            "inspecti": cmd_inspecti, "info": cmd_info}
GLOBAL_WITH_VALUE = {"--runtime-endpoint": "runtime-endpoint", "-r": "runtime-endpoint",
                     "--image-endpoint": "image-endpoint", "-i": "image-endpoint", "--config": "config",
                     "-c": "config", "--timeout": "timeout", "-t": "timeout"}


def body(args):
    options = {}
    rest = list(args)
    while rest and rest[0].startswith("-"):
        arg = rest.pop(0)
        name, _, inline = arg.partition("=")
        if arg in ("--version", "-v"):
            print(f"crictl version {VERSION}")
            return 0
        if arg in ("--debug", "-D"):
            continue
        if name in GLOBAL_WITH_VALUE:
            if inline:
                options[GLOBAL_WITH_VALUE[name]] = inline
            elif rest:
                options[GLOBAL_WITH_VALUE[name]] = rest.pop(0)
            else:
                return _die(f"flag needs an argument: {arg}")
            continue
        return _die(f"flag provided but not defined: {arg}")
    if not rest:
        print("NAME:\n   crictl - client for CRI\n\nUSAGE:\n   crictl [global options] command [command options]\n\n"
              f"VERSION:\n   {VERSION}")
        return 0
    command = rest.pop(0)
    handler = COMMANDS.get(command)
    if handler is None:
        return _die(f"no help topic for '{command}' (the testbed stand-in simulates: "
                    f"{', '.join(sorted(set(COMMANDS)))})")
    try:
        return handler(options, rest)
    except Fatal as error:
        return _die(str(error))


def _die(message):
    print(_fatal_line(message), file=sys.stderr)
    return 1


def main():
    sys.exit(common.run("crictl", body))


if __name__ == "__main__":
    main()
