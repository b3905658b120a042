"""Stand-in for containerd 2.3.4: the daemon (config loading, the API socket, CRI image pulls) and the small
client protocol ``ctr`` and ``crictl`` speak to it.

The daemon loads /etc/containerd/config.toml (or ``--config``) strictly and exits 1 with containerd's message
when it cannot: a TOML syntax error; a ``version`` above 4 (2.3 migrates 2 and 3 in memory with a warning, as
2.x does) or below 2 (version 1 was removed in 2.0); an unknown top-level key (real 2.x only warns: kept strict
so a typo cannot pass here); a wrong type for a key the stacks set (real 2.x fails the CRI plugin then, and
nothing CRI works). It records the effective config in ``$NODE_RUN/containerd/effective-config.json``, serves
the grpc address (a unix socket; the protocol is one JSON line each way, not gRPC) until SIGTERM, and pulls
images for CRI through ``registry_hosts`` with the config's ``config_path``: a config change needs a restart,
a hosts.toml change does not, as in containerd. Pulled images live in ``ROOT/islet-standin/images.json``
(``root`` defaults to /var/lib/containerd: they survive a reboot, as containerd's content store does).
"""

import datetime
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import tomllib
import uuid

from . import common, registry_hosts

VERSION = "v2.3.4"
REVISION = "islet-testbed-standin"
GO_VERSION = "go1.24.9"
CONFIG_VERSION = 4
DEFAULT_CONFIG = "/etc/containerd/config.toml"
DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
DEFAULT_SANDBOX = "registry.k8s.io/pause:3.10.1"
CRI_NAMESPACE = "k8s.io"
IMAGES = "io.containerd.cri.v1.images"
RUNTIME = "io.containerd.cri.v1.runtime"
OLD_CRI = "io.containerd.grpc.v1.cri"
GRPC_SERVER = "io.containerd.server.v1.grpc"
TOP_LEVEL_KEYS = {"version", "root", "state", "temp", "debug", "disabled_plugins", "required_plugins", "plugins",
                  "oom_score", "cgroup", "proxy_plugins", "timeouts", "imports", "stream_processors", "grpc", "ttrpc",
                  "metrics", "plugin_dir"}


def log(level, message, **fields):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    extra = "".join(f" {k}={json.dumps(v) if isinstance(v, str) and (' ' in v or not v) else v}"
                    for k, v in fields.items())
    print(f'time="{stamp}" level={level} msg={json.dumps(message)}{extra}', file=sys.stderr, flush=True)


def _stamped(line):
    """A registry_hosts log line (``level=… msg=…``) with the daemon's time stamp."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    print(f'time="{stamp}" {line}', file=sys.stderr, flush=True)


class ConfigError(Exception):
    pass


def _table(parent, key, where):
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"toml: cannot decode TOML {type(value).__name__} into {where} of type map")
    return value


def _typed(table, key, kind, plugin, field):
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, kind) or (kind is str and isinstance(value, bool)):
        type_name = {str: "string", bool: "bool"}[kind]
        raise ConfigError(f"failed to load plugin {plugin}: toml: cannot decode TOML "
                          f"{_toml_kind(value)} into struct field {field} of type {type_name}")
    return value


def _toml_kind(value):
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def migrate_v2_plugins(plugins):
    """What 2.x's CRI config migration does to the keys the stacks use: ``io.containerd.grpc.v1.cri`` is split into
    the images plugin (sandbox_image → pinned_images.sandbox, registry) and the runtime plugin (containerd, cni)."""
    old = plugins.get(OLD_CRI)
    if not isinstance(old, dict):
        return plugins
    plugins = dict(plugins)
    images = dict(plugins.get(IMAGES) or {})
    runtime = dict(plugins.get(RUNTIME) or {})
    if "sandbox_image" in old:
        images.setdefault("pinned_images", {})["sandbox"] = old["sandbox_image"]
    if "registry" in old:
        images["registry"] = old["registry"]
    for key in ("containerd", "cni"):
        if key in old:
            runtime[key] = old[key]
    plugins[IMAGES], plugins[RUNTIME] = images, runtime
    plugins[OLD_CRI] = {k: v for k, v in old.items() if k not in ("sandbox_image", "registry", "containerd", "cni")}
    return plugins


def load_config(path):
    """The effective config containerd would run with, or ConfigError with its message."""
    shown = path
    try:
        with open(common.root(path), "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        data = None  # containerd runs with its defaults when the default config file is missing
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"failed to load TOML from {shown}: failed to unmarshal TOML: {error}")
    warnings = []
    if data is None:
        data = {"version": CONFIG_VERSION}
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"failed to load TOML from {shown}: strict mode: fields in the document are missing in the "
                          f"target struct: {', '.join(unknown)}")
    version = data.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"failed to load TOML from {shown}: toml: cannot decode TOML {_toml_kind(version)} into "
                          "struct field Config.Version of type int")
    if version > CONFIG_VERSION:
        raise ConfigError(f"failed to load TOML from {shown}: expected containerd config version equal to or less "
                          f"than `{CONFIG_VERSION}`, got `{version}`")
    if version < 2:
        raise ConfigError(f"failed to load TOML from {shown}: config version `{version}` is no longer supported "
                          "(version 1 was removed in containerd 2.0); set `version = 3`")
    if data.get("imports"):
        raise ConfigError(f"failed to load TOML from {shown}: imports are not simulated by the testbed stand-in")
    plugins = _table(data, "plugins", "Config.Plugins")
    if version == 2:
        plugins = migrate_v2_plugins(plugins)
    if version < CONFIG_VERSION:
        warnings.append(f"Configuration migrated from version {version}, use `containerd config migrate` to avoid "
                        "migration")
    images = _table(plugins, IMAGES, f"plugins.{IMAGES}")
    runtime = _table(plugins, RUNTIME, f"plugins.{RUNTIME}")
    pinned = _table(images, "pinned_images", "ImageConfig.PinnedImages")
    registry = _table(images, "registry", "ImageConfig.Registry")
    sandbox = _typed(pinned, "sandbox", str, IMAGES, "PinnedImages.sandbox")
    config_path = _typed(registry, "config_path", str, IMAGES, "Registry.ConfigPath")
    auths = {}
    for host, entry in _table(registry, "configs", "Registry.Configs").items():
        entry = _table(registry["configs"], host, "Registry.Configs")
        unknown = sorted(set(entry) - {"auth"})
        if unknown:
            # containerd 2.0 removed configs.*.tls (and the rest): certs.d's hosts.toml holds them now
            raise ConfigError(f"failed to load plugin {IMAGES}: registry.configs.{host}: {', '.join(unknown)} is no "
                              "longer supported; use config_path (hosts.toml)")
        auth = _table(entry, "auth", "RegistryConfig.Auth")
        unknown = sorted(set(auth) - {"username", "password", "auth", "identitytoken"})
        if unknown:
            raise ConfigError(f"failed to load plugin {IMAGES}: toml: unknown field {unknown[0]} in AuthConfig")
        user = _typed(auth, "username", str, IMAGES, "AuthConfig.Username") or ""
        password = _typed(auth, "password", str, IMAGES, "AuthConfig.Password") or ""
        if user or password:
            auths[host] = (user, password)
    if auths:
        warnings.append(f"The \"configs\" property of \"{IMAGES}.registry\" is deprecated (auth is kept until a "
                        "secret store replaces it)")
    runc = _table(_table(_table(runtime, "containerd", "RuntimeConfig.ContainerdConfig"), "runtimes",
                         "ContainerdConfig.Runtimes"), "runc", "Runtimes.runc")
    options = _table(runc, "options", "Runtime.Options")
    systemd_cgroup = _typed(options, "SystemdCgroup", bool, RUNTIME, "Options.SystemdCgroup")
    cni = _table(runtime, "cni", "RuntimeConfig.CniConfig")
    grpc = _table(data, "grpc", "Config.GRPC")
    address = _typed(_table(plugins, GRPC_SERVER, f"plugins.{GRPC_SERVER}"), "address", str, GRPC_SERVER,
                     "Config.Address") if version == CONFIG_VERSION else None
    address = address or _typed(grpc, "address", str, "containerd", "GRPCConfig.Address")
    for key in ("root", "state"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"failed to load TOML from {shown}: toml: cannot decode TOML {_toml_kind(data[key])} "
                              f"into struct field Config.{key.capitalize()} of type string")
    if version >= 3 and OLD_CRI in plugins and any(k in plugins[OLD_CRI] for k in ("sandbox_image", "registry",
                                                                                   "containerd")):
        warnings.append(f"Ignoring unknown key in TOML for plugin {OLD_CRI}: version {version} configures CRI "
                        f"under {IMAGES} and {RUNTIME}")
    return {
        "source": path,
        "version": version,
        "root": data.get("root", "/var/lib/containerd"),
        "state": data.get("state", "/run/containerd"),
        "address": address or DEFAULT_ADDRESS,
        "sandbox": sandbox if sandbox is not None else DEFAULT_SANDBOX,
        "configPath": config_path if config_path is not None else registry_hosts.DEFAULT_CONFIG_PATH,
        "auths": auths,
        "systemdCgroup": bool(systemd_cgroup),
        "cniConfDir": cni.get("conf_dir", "/etc/cni/net.d"),
        "cniBinDir": cni.get("bin_dir", "/opt/cni/bin"),
        "warnings": warnings,
    }


# ------------------------------------------------------------------------------------------- image store

class ImageStore:
    """The CRI image records (per namespace), in the daemon's root so they survive a restart."""

    def __init__(self, root_dir):
        self.path = common.root(os.path.join(root_dir, "islet-standin", "images.json"))
        self.lock = threading.Lock()

    def all(self, namespace):
        return list((common.read_json(self.path, {}) or {}).get(namespace, {}).values())

    def add(self, namespace, record):
        with self.lock:
            data = common.read_json(self.path, {}) or {}
            data.setdefault(namespace, {})[record["name"]] = record
            common.write_json_atomically(self.path, data)

    def find(self, namespace, text):
        try:
            reference = registry_hosts.parse_reference(text)
        except registry_hosts.PullError:
            reference = None
        for record in self.all(namespace):
            if text in (record["id"], record["id"].removeprefix("sha256:")) or \
                    (len(text) >= 12 and record["id"].removeprefix("sha256:").startswith(text)):
                return record
            if reference and (str(reference) == record["name"] or
                              (reference.digest and reference.name == record["repository"]
                               and reference.digest == record["repoDigest"])):
                return record
        return None


# ---------------------------------------------------------------------------------------------- protocol

class Unavailable(Exception):
    """The socket cannot be reached: the text after ``dial unix PATH: connect:``."""


def call(address, request, timeout=120):
    """One request to the daemon at ``address`` (a socket path); returns the decoded answer."""
    path = common.root(address)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        client.connect(path)
    except OSError as error:
        client.close()
        raise Unavailable(f"dial unix {address}: connect: {os.strerror(error.errno).lower() if error.errno else error}")
    with client:
        client.sendall((json.dumps(request) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    if not data:
        raise Unavailable(f"dial unix {address}: connection closed before server preface received")
    return json.loads(data)


class Daemon:
    def __init__(self, config):
        self.config = config
        self.store = ImageStore(config["root"])
        self.uuid = self._uuid()

    def _uuid(self):
        path = common.root(os.path.join(self.config["root"], "islet-standin", "uuid"))
        try:
            with open(path) as f:
                return f.read().strip()
        except FileNotFoundError:
            value = str(uuid.uuid4())
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(value)
            return value

    def network_ready(self):
        directory = common.root(self.config["cniConfDir"])
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            return False
        for name in names:
            if name.endswith((".conf", ".conflist", ".json")):
                try:
                    with open(os.path.join(directory, name)) as f:
                        json.load(f)
                    return True
                except (OSError, ValueError):
                    continue
        return False

    def handle(self, request):
        method = request.get("method")
        namespace = request.get("namespace") or CRI_NAMESPACE
        if method == "version":
            return {"version": VERSION, "revision": REVISION, "uuid": self.uuid}
        if method == "info":
            network = self.network_ready()
            conditions = [
                {"type": "RuntimeReady", "status": True, "reason": "", "message": ""},
                {"type": "NetworkReady", "status": network,
                 "reason": "" if network else "NetworkPluginNotReady",
                 "message": "" if network else "Network plugin returns error: cni plugin not initialized"},
            ]
            config = {"containerd": {"defaultRuntimeName": "runc", "runtimes": {"runc": {
                          "runtimeType": "io.containerd.runc.v2",
                          "options": {"SystemdCgroup": self.config["systemdCgroup"]}}}},
                      "cni": {"binDir": self.config["cniBinDir"], "confDir": self.config["cniConfDir"]},
                      "registry": {"configPath": self.config["configPath"]},
                      "pinnedImages": {"sandbox": self.config["sandbox"]},
                      "sandboxImage": self.config["sandbox"],
                      "containerdRootDir": self.config["root"], "stateDir": self.config["state"]}
            cni_status = "OK" if network else (f"cni config load failed: no network config found in "
                                               f"{self.config['cniConfDir']}: cni plugin not initialized")
            return {"status": {"conditions": conditions}, "config": config, "lastCNILoadStatus": cni_status}
        if method == "pull":
            image = request.get("image", "")
            log("info", "PullImage", image=image)
            try:
                record = registry_hosts.pull(image, self.config["configPath"], log=_stamped,
                                             auths=self.config.get("auths"))
            except registry_hosts.PullError as error:
                log("error", "PullImage failed", image=image, error=str(error))
                return {"error": {"code": "NotFound" if error.not_found else "Unknown", "message": str(error)}}
            self.store.add(namespace, record)
            log("info", "PullImage returns image reference", image=image, id=record["id"])
            return {"image": record}
        if method == "images":
            return {"images": self._listed(self.store.all(namespace))}
        if method == "image_status":
            record = self.store.find(namespace, request.get("image", ""))
            return {"image": self._listed([record])[0] if record else None}
        return {"error": {"code": "Unimplemented", "message": f"unknown method {method}"}}

    def _listed(self, records):
        pinned = None
        try:
            pinned = str(registry_hosts.parse_reference(self.config["sandbox"]))
        except registry_hosts.PullError:
            pass
        return [dict(r, pinned=r["name"] == pinned) for r in records]


def serve(config):
    daemon = Daemon(config)
    address = common.root(config["address"])
    os.makedirs(os.path.dirname(address), exist_ok=True)
    os.makedirs(common.root(config["state"]), exist_ok=True)
    os.makedirs(common.root(config["root"]), exist_ok=True)
    if os.path.lexists(address):
        os.unlink(address)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline()
            try:
                answer = daemon.handle(json.loads(line))
            except Exception as error:  # an answer for every request: a daemon bug must not hang the client
                answer = {"error": {"code": "Internal", "message": f"{type(error).__name__}: {error}"}}
            self.wfile.write((json.dumps(answer) + "\n").encode())

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    server = Server(address, Handler)
    os.chmod(address, 0o660)
    stopped = threading.Event()

    def stop(signum, frame):
        log("info", "Stop CRI service")
        stopped.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("info", "serving...", address=config["address"])
    log("info", "containerd successfully booted in 0.010000s")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if os.path.lexists(address):
            os.unlink(address)
    log("info", "containerd stopped")
    return 0


USAGE = f"""NAME:
   containerd -
                    __        _                     __
  _________  ____  / /_____ _(_)___  ___  _________/ /
 / ___/ __ \\/ __ \\/ __/ __ `/ / __ \\/ _ \\/ ___/ __  /
/ /__/ /_/ / / / / /_/ /_/ / / / / /  __/ /  / /_/ /
\\___/\\____/_/ /_/\\__/\\__,_/_/_/ /_/\\___/_/   \\__,_/

high performance container runtime


USAGE:
   containerd [global options] command [command options]

VERSION:
   {VERSION}
"""


def body(args):
    config_path = DEFAULT_CONFIG
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg in ("--version", "-v"):
            print(f"containerd github.com/containerd/containerd/v2 {VERSION} {REVISION}")
            return 0
        if arg in ("--help", "-h"):
            print(USAGE)
            return 0
        if arg in ("--config", "-c"):
            if not rest:
                raise common.Refusal(f"flag needs an argument: {arg}")
            config_path = rest.pop(0)
        elif arg.startswith("--config="):
            config_path = arg.split("=", 1)[1]
        elif arg in ("--log-level", "-l", "--address", "-a", "--root", "--state"):
            value = rest.pop(0) if rest else ""
            if arg in ("--address", "-a", "--root", "--state"):
                raise common.Refusal(f"{arg} {value}: the testbed stand-in reads these from the config file only")
        elif arg == "config":
            raise common.Refusal("`containerd config` is not simulated: write /etc/containerd/config.toml yourself")
        else:
            raise common.Refusal(f"flag provided but not defined: {arg}" if arg.startswith("-")
                                 else f"No help topic for '{arg}'")
    log("info", "starting containerd", revision=REVISION, version=VERSION)
    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise common.Refusal(str(error))
    for warning in config.pop("warnings"):
        log("warning", warning)
    config["loadedAt"] = time.time()
    common.write_json_atomically(os.path.join(common.NODE_RUN, "containerd", "effective-config.json"), config)
    return serve(config)


def main():
    sys.exit(common.run("containerd", body))


if __name__ == "__main__":
    main()
