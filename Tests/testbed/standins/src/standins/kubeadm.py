"""kubeadm stand-in: init, join, token, certs certificate-key, init phase upload-certs, reset, config
validate / images list, version — against the simulated cluster (cluster.py), with kubeadm's strict
config decoding and its preflight checks made through the node's programs (swapon, lsmod, sysctl,
crictl, systemctl), so each layer of the testbed answers for itself.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

from . import cli, cluster, common, configapi, yamlio
from .cli import Failure

KUBEADM_VERSION = cluster.VERSION
STACK_HINT = "\nTo see the stack trace of this error execute with --v=5 or higher"
KUBERNETES = "/etc/kubernetes"
MANIFESTS = "/etc/kubernetes/manifests"
KUBELET_DIR = "/var/lib/kubelet"
CONTROL_PLANE_PODS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
SHARED_CERTS = ("ca.crt", "ca.key", "sa.key", "sa.pub", "front-proxy-ca.crt", "front-proxy-ca.key",
                "etcd/ca.crt", "etcd/ca.key")


def main():
    return common.run("kubeadm", body)


def body(args):
    try:
        return dispatch(args)
    except Failure as failure:
        print(failure.message, file=sys.stderr)
        return failure.code
    except configapi.ConfigError as error:
        print(f"{error}{STACK_HINT}", file=sys.stderr)
        return 1


def say(text=""):
    print(text, flush=True)


def dispatch(args):
    words = [a for a in args if not a.startswith("-")]
    command = words[0] if words else ""
    rest = args[args.index(command) + 1:] if command else args
    if not command:
        if any(a in ("-h", "--help") for a in args):
            say("kubeadm: easily bootstrap a secure Kubernetes cluster")
            return 0
        raise Failure("kubeadm stand-in: a command is required (init, join, token, certs, reset, config, version)")
    handlers = {"version": cmd_version, "init": cmd_init, "join": cmd_join, "token": cmd_token,
                "certs": cmd_certs, "reset": cmd_reset, "config": cmd_config}
    if command not in handlers:
        known = {"upgrade", "kubeconfig", "alpha", "completion", "help"}
        if command in known:
            raise Failure(f'kubeadm stand-in: "kubeadm {command}" is not simulated by the testbed')
        raise Failure(f'unknown command "{command}" for "kubeadm"\nRun \'kubeadm --help\' for usage.')
    return handlers[command](rest)


COMMON = {"v": "value", "help": "bool", "rootfs": "value"}


def flags_of(args, spec, shorthands=None):
    merged = dict(COMMON)
    merged.update(spec)
    short = {"v": "v", "h": "help"}
    short.update(shorthands or {})
    return cli.parse(args, merged, short, STACK_HINT)


def no_mixing(flags, allowed):
    mixed = [name for name in flags.given if name not in allowed and name not in COMMON and name != "config"]
    if "config" in flags and mixed:
        raise Failure(f"can not mix '--config' with arguments [{' '.join(sorted(set(mixed)))}]" + STACK_HINT)


# --- version ---

def cmd_version(args):
    flags = flags_of(args, {"output": "value"}, {"o": "output"})
    output = flags.get("output", "")
    info = {"major": "1", "minor": "36", "gitVersion": KUBEADM_VERSION, "gitCommit": "testbed-stand-in",
            "gitTreeState": "clean", "buildDate": "2026-08-12T00:00:00Z", "goVersion": "go1.25.9",
            "compiler": "gc", "platform": "linux/amd64"}
    if output == "short":
        say(KUBEADM_VERSION)
    elif output == "json":
        say(json.dumps({"clientVersion": info}, indent=2))
    elif output == "yaml":
        say(yamlio.dump({"clientVersion": info}).rstrip())
    elif output == "":
        say('kubeadm version: &version.Info{Major:"1", Minor:"36", GitVersion:"%s", GitCommit:"testbed-stand-in", '
            'GitTreeState:"clean", BuildDate:"2026-08-12T00:00:00Z", GoVersion:"go1.25.9", Compiler:"gc", '
            'Platform:"linux/amd64"}' % KUBEADM_VERSION)
    else:
        raise Failure(f'error: invalid output format: {output}' + STACK_HINT)
    return 0


# --- configuration ---

def read_config_file(path):
    try:
        with open(common.root(path)) as f:
            text = f.read()
    except FileNotFoundError:
        raise Failure(f"unable to read config from \"{path}\" : open {path}: no such file or directory"
                      + STACK_HINT) from None
    try:
        return yamlio.load_all(text)
    except yamlio.YAMLError as error:
        raise Failure(f'error converting YAML to JSON: {error}' + STACK_HINT) from None


def default_address():
    """kubeadm's advertise-address default: the address the hostname resolves to (the testbed's
    /etc/hosts line for the node)."""
    try:
        return socket.gethostbyname(common.node_name())
    except OSError:
        raise Failure("unable to select an IP from default routes." + STACK_HINT) from None


def service_dns_ip(service_subnet):
    import ipaddress
    network = ipaddress.ip_network(service_subnet.split(",")[0].strip(), strict=False)
    return str(network.network_address + 10)


def complete_cluster(cluster_config):
    """kubeadm's defaults for ClusterConfiguration (after validation)."""
    config = json.loads(json.dumps(cluster_config))
    config.setdefault("apiVersion", configapi.KUBEADM_API)
    config.setdefault("kind", "ClusterConfiguration")
    networking = config.setdefault("networking", {})
    networking.setdefault("serviceSubnet", "10.96.0.0/12")
    networking.setdefault("dnsDomain", "cluster.local")
    config.setdefault("certificatesDir", "/etc/kubernetes/pki")
    config.setdefault("imageRepository", "registry.k8s.io")
    config.setdefault("clusterName", "kubernetes")
    config.setdefault("encryptionAlgorithm", "RSA-2048")
    etcd = config.setdefault("etcd", {})
    etcd.setdefault("local", {}).setdefault("dataDir", "/var/lib/etcd")
    return config


def kubelet_configuration(given, cluster_config):
    """The cluster-wide KubeletConfiguration kubeadm stores in the kubelet-config ConfigMap."""
    config = {
        "apiVersion": configapi.KUBELET_API, "kind": "KubeletConfiguration",
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"cacheTTL": "0s", "enabled": True},
                           "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
        "authorization": {"mode": "Webhook", "webhook": {"cacheAuthorizedTTL": "0s", "cacheUnauthorizedTTL": "0s"}},
        "cgroupDriver": "systemd",
        "clusterDNS": [service_dns_ip(cluster_config["networking"]["serviceSubnet"])],
        "clusterDomain": cluster_config["networking"]["dnsDomain"],
        "containerRuntimeEndpoint": "",
        "cpuManagerReconcilePeriod": "0s",
        "fileCheckFrequency": "0s",
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "rotateCertificates": True,
        "runtimeRequestTimeout": "0s",
        "staticPodPath": MANIFESTS,
        "syncFrequency": "0s",
    }
    for key, value in (given or {}).items():
        config[key] = value
    return config


def parse_ttl(text):
    if not configapi.valid_duration(text):
        raise Failure(f'invalid argument "{text}" for "--ttl" flag: time: invalid duration "{text}"' + STACK_HINT)
    return configapi.duration_seconds(text)


def timeout_of(config, name, default):
    value = ((config or {}).get("timeouts") or {}).get(name)
    return configapi.duration_seconds(value) if value else default


# --- preflight: the node's programs answer ---

def run_program(*argv):
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True)
    except FileNotFoundError:
        return 127, "", f'exec: "{argv[0]}": executable file not found in $PATH'
    return result.returncode, result.stdout, result.stderr


class Preflight:
    def __init__(self, ignored):
        self.ignored = {name.lower() for name in ignored}
        self.errors = []
        self.warnings = []

    def add(self, name, message, warning=False):
        if warning or "all" in self.ignored or name.lower() in self.ignored:
            self.warnings.append(f"\t[WARNING {name}]: {message}")
        else:
            self.errors.append(f"\t[ERROR {name}]: {message}")

    def finish(self, phase="preflight"):
        for warning in self.warnings:
            print(warning, file=sys.stderr)
        self.warnings = []
        if self.errors:
            text = "\n".join(self.errors)
            raise Failure(f"error execution phase {phase}: [preflight] Some fatal errors occurred:\n{text}\n"
                          "[preflight] If you know what you are doing, you can make a check non-fatal with "
                          f"`--ignore-preflight-errors=...`{STACK_HINT}")


def check_node(check, cri_socket, control_plane, etcd_dir=None):
    """The checks kubeadm's preflight makes for init and join, through the node's own programs."""
    paths = [f"{KUBERNETES}/kubelet.conf"]
    if control_plane:
        paths = [f"{MANIFESTS}/{pod}.yaml" for pod in CONTROL_PLANE_PODS] + paths
    else:
        paths.append(f"{KUBERNETES}/pki/ca.crt")
    for path in paths:
        if os.path.exists(common.root(path)):
            check.add("FileAvailable-" + path.replace("/", "-"), f"{path} already exists")
    if etcd_dir:
        try:
            if os.listdir(common.root(etcd_dir)):
                check.add("DirAvailable-" + etcd_dir.replace("/", "-"), f"{etcd_dir} is not empty")
        except FileNotFoundError:
            pass
    code, out, err = run_program("swapon", "--show", "--noheadings")
    # kubeadm >= 1.28 only warns about swap and leaves the refusal to the kubelet (failSwapOn); the
    # install fails either way, so the stand-in stops here, where the cause is plain.
    if code != 0:
        check.add("Swap", f"could not check swap: {err.strip() or out.strip()}")
    elif out.strip():
        check.add("Swap", "running with swap on is not supported. Please disable swap")
    code, out, err = run_program("lsmod")
    loaded = {line.split()[0] for line in out.splitlines()[1:] if line.split()} if code == 0 else set()
    for module in ("overlay", "br_netfilter"):
        # Real kubeadm's SystemVerification only needs the module available; loading them is the node
        # preparation the stacks do, so the testbed checks they were loaded.
        if module not in loaded:
            check.add("SystemVerification", f"the kernel module {module} is not loaded (lsmod)")
    for key, path in (("net.bridge.bridge-nf-call-iptables", "/proc/sys/net/bridge/bridge-nf-call-iptables"),
                      ("net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward")):
        code, out, _ = run_program("sysctl", "-n", key)
        name = "FileContent-" + path.replace("/", "-")
        if code != 0:
            check.add(name, f"{path} does not exist")
        elif out.strip() != "1":
            check.add(name, f"{path} contents are not set to 1")
    code, out, err = run_program("crictl", "--runtime-endpoint", cri_socket, "info")
    if code != 0:
        check.add("CRI", f"could not connect to the container runtime: output: {(out + err).strip()}, "
                  f"error: exit status {code}")
    code, _, _ = run_program("systemctl", "is-enabled", "kubelet.service")
    if code != 0:
        check.add("Service-Kubelet", "kubelet service is not enabled, please run 'systemctl enable kubelet.service'",
                  warning=True)


def pull_images(check, images, cri_socket, policy):
    say("[preflight] Pulling images required for setting up a Kubernetes cluster")
    say("[preflight] This might take a minute or two, depending on the speed of your internet connection")
    say("[preflight] You can also perform this action beforehand using 'kubeadm config images pull'")
    if policy == "Never":
        return
    for image in images:
        code, out, err = run_program("crictl", "--runtime-endpoint", cri_socket, "pull", image)
        if code != 0:
            check.add("ImagePull", f"failed to pull image {image}: failed to pull image \"{image}\": "
                      f"output: {(out + err).strip()}, error: exit status {code}")


# --- files a control plane needs ---

def pki_dir(cluster_config):
    return cluster_config.get("certificatesDir") or "/etc/kubernetes/pki"


def make_node_certs(pki, name, address, cluster_config):
    """The per-node certificates (the shared CAs and sa key already in ``pki``)."""
    import ipaddress
    service = ipaddress.ip_network(cluster_config["networking"]["serviceSubnet"].split(",")[0], strict=False)
    domain = cluster_config["networking"]["dnsDomain"]
    sans = ["DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            f"DNS:kubernetes.default.svc.{domain}", f"DNS:{name}", f"IP:{service.network_address + 1}",
            f"IP:{address}"]
    endpoint = cluster_config.get("controlPlaneEndpoint")
    if endpoint:
        host = configapi.split_host_port(endpoint)[0]
        sans.append(("IP:" if configapi.is_ip(host) else "DNS:") + host)
    for extra in (cluster_config.get("apiServer") or {}).get("certSANs") or []:
        sans.append(("IP:" if configapi.is_ip(extra) else "DNS:") + extra)
    ca, ca_key = f"{pki}/ca.crt", f"{pki}/ca.key"
    say('[certs] Generating "apiserver" certificate and key')
    cluster.make_leaf(f"{pki}/apiserver.crt", f"{pki}/apiserver.key", ca, ca_key, "/CN=kube-apiserver",
                      sorted(set(sans)))
    say('[certs] Generating "apiserver-kubelet-client" certificate and key')
    cluster.make_leaf(f"{pki}/apiserver-kubelet-client.crt", f"{pki}/apiserver-kubelet-client.key", ca, ca_key,
                      "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client", client=True)
    say('[certs] Generating "front-proxy-client" certificate and key')
    cluster.make_leaf(f"{pki}/front-proxy-client.crt", f"{pki}/front-proxy-client.key", f"{pki}/front-proxy-ca.crt",
                      f"{pki}/front-proxy-ca.key", "/CN=front-proxy-client", client=True)
    etcd_sans = [f"DNS:{name}", "DNS:localhost", f"IP:{address}", "IP:127.0.0.1", "IP:::1"]
    for leaf, subject, sans_, client in (("server", f"/CN={name}", etcd_sans, False),
                                         ("peer", f"/CN={name}", etcd_sans, False),
                                         ("healthcheck-client", "/CN=kube-etcd-healthcheck-client", (), True)):
        say(f'[certs] Generating "etcd/{leaf}" certificate and key')
        cluster.make_leaf(f"{pki}/etcd/{leaf}.crt", f"{pki}/etcd/{leaf}.key", f"{pki}/etcd/ca.crt",
                          f"{pki}/etcd/ca.key", subject, sans_, client)
    say('[certs] Generating "apiserver-etcd-client" certificate and key')
    cluster.make_leaf(f"{pki}/apiserver-etcd-client.crt", f"{pki}/apiserver-etcd-client.key", f"{pki}/etcd/ca.crt",
                      f"{pki}/etcd/ca.key", "/CN=kube-apiserver-etcd-client", client=True)


def extra_args(defaults, extra):
    """kubeadm's argument building: an extra arg replaces every default of that name."""
    names = {arg["name"] for arg in extra or []}
    merged = [(name, value) for name, value in defaults if name not in names]
    merged += [(arg["name"], arg.get("value", "")) for arg in extra or []]
    return [f"--{name}={value}" for name, value in merged]


def host_path(name, path, kind="DirectoryOrCreate", read_only=False):
    mount = {"mountPath": path, "name": name}
    if read_only:
        mount["readOnly"] = True
    return {"hostPath": {"path": path, "type": kind}, "name": name}, mount


def static_pod(name, image, command, volumes, annotations=None, port=None):
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"labels": {"component": name, "tier": "control-plane"}, "name": name,
                     "namespace": "kube-system"},
        "spec": {
            "containers": [{"command": command, "image": image, "imagePullPolicy": "IfNotPresent", "name": name,
                            "resources": {"requests": {"cpu": "250m" if name == "kube-apiserver" else "100m"}},
                            "volumeMounts": [mount for _, mount in volumes]}],
            "hostNetwork": True, "priority": 2000001000, "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [volume for volume, _ in volumes],
        },
        "status": {},
    }
    if annotations:
        pod["metadata"]["annotations"] = annotations
    if port:
        pod["spec"]["containers"][0]["livenessProbe"] = {
            "httpGet": {"host": "127.0.0.1" if name != "kube-apiserver" else None, "path": "/livez" if
                        name != "etcd" else "/livez", "port": port, "scheme": "HTTPS" if name != "etcd" else "HTTP"}}
        probe = pod["spec"]["containers"][0]["livenessProbe"]["httpGet"]
        if probe["host"] is None:
            del probe["host"]
    return pod


def write_manifests(cluster_config, name, address, port, version, etcd_initial, etcd_state):
    repository = cluster_config.get("imageRepository") or "registry.k8s.io"
    pki = pki_dir(cluster_config)
    networking = cluster_config["networking"]
    local = (cluster_config.get("etcd") or {}).get("local") or {}
    data_dir = local.get("dataDir") or "/var/lib/etcd"
    manifests = common.root(MANIFESTS)
    os.makedirs(manifests, exist_ok=True)
    say(f'[etcd] Creating static Pod manifest for local etcd in "{MANIFESTS}"')
    etcd_args = [("advertise-client-urls", f"https://{address}:2379"), ("cert-file", f"{pki}/etcd/server.crt"),
                 ("client-cert-auth", "true"), ("data-dir", data_dir),
                 ("initial-advertise-peer-urls", f"https://{address}:2380"),
                 ("initial-cluster", etcd_initial), ("initial-cluster-state", etcd_state),
                 ("key-file", f"{pki}/etcd/server.key"),
                 ("listen-client-urls", f"https://127.0.0.1:2379,https://{address}:2379"),
                 ("listen-metrics-urls", "http://127.0.0.1:2381"), ("listen-peer-urls", f"https://{address}:2380"),
                 ("name", name), ("peer-cert-file", f"{pki}/etcd/peer.crt"), ("peer-client-cert-auth", "true"),
                 ("peer-key-file", f"{pki}/etcd/peer.key"), ("peer-trusted-ca-file", f"{pki}/etcd/ca.crt"),
                 ("snapshot-count", "10000"), ("trusted-ca-file", f"{pki}/etcd/ca.crt")]
    etcd_image = f"{local.get('imageRepository') or repository}/etcd:{local.get('imageTag') or cluster.ETCD_TAG}"
    pods = {"etcd": static_pod("etcd", etcd_image, ["etcd"] + extra_args(etcd_args, local.get("extraArgs")),
                               [host_path("etcd-certs", f"{pki}/etcd", "DirectoryOrCreate"),
                                host_path("etcd-data", data_dir, "DirectoryOrCreate")],
                               {"kubeadm.kubernetes.io/etcd.advertise-client-urls": f"https://{address}:2379"},
                               2381)}
    say(f'[control-plane] Using manifest folder "{MANIFESTS}"')
    api_args = [("advertise-address", address), ("allow-privileged", "true"), ("authorization-mode", "Node,RBAC"),
                ("client-ca-file", f"{pki}/ca.crt"), ("enable-admission-plugins", "NodeRestriction"),
                ("enable-bootstrap-token-auth", "true"), ("etcd-cafile", f"{pki}/etcd/ca.crt"),
                ("etcd-certfile", f"{pki}/apiserver-etcd-client.crt"),
                ("etcd-keyfile", f"{pki}/apiserver-etcd-client.key"), ("etcd-servers", "https://127.0.0.1:2379"),
                ("kubelet-client-certificate", f"{pki}/apiserver-kubelet-client.crt"),
                ("kubelet-client-key", f"{pki}/apiserver-kubelet-client.key"),
                ("kubelet-preferred-address-types", "InternalIP,ExternalIP,Hostname"),
                ("proxy-client-cert-file", f"{pki}/front-proxy-client.crt"),
                ("proxy-client-key-file", f"{pki}/front-proxy-client.key"),
                ("requestheader-allowed-names", "front-proxy-client"),
                ("requestheader-client-ca-file", f"{pki}/front-proxy-ca.crt"),
                ("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
                ("requestheader-group-headers", "X-Remote-Group"),
                ("requestheader-username-headers", "X-Remote-User"), ("secure-port", str(port)),
                ("service-account-issuer", f"https://kubernetes.default.svc.{networking['dnsDomain']}"),
                ("service-account-key-file", f"{pki}/sa.pub"), ("service-account-signing-key-file", f"{pki}/sa.key"),
                ("service-cluster-ip-range", networking["serviceSubnet"]),
                ("tls-cert-file", f"{pki}/apiserver.crt"), ("tls-private-key-file", f"{pki}/apiserver.key")]
    cm_args = [("authentication-kubeconfig", f"{KUBERNETES}/controller-manager.conf"),
               ("authorization-kubeconfig", f"{KUBERNETES}/controller-manager.conf"), ("bind-address", "127.0.0.1"),
               ("client-ca-file", f"{pki}/ca.crt"), ("cluster-name", cluster_config["clusterName"]),
               ("cluster-signing-cert-file", f"{pki}/ca.crt"), ("cluster-signing-key-file", f"{pki}/ca.key"),
               ("controllers", "*,bootstrapsigner,tokencleaner"),
               ("kubeconfig", f"{KUBERNETES}/controller-manager.conf"), ("leader-elect", "true"),
               ("requestheader-client-ca-file", f"{pki}/front-proxy-ca.crt"),
               ("root-ca-file", f"{pki}/ca.crt"), ("service-account-private-key-file", f"{pki}/sa.key"),
               ("use-service-account-credentials", "true")]
    if networking.get("podSubnet"):
        cm_args += [("allocate-node-cidrs", "true"), ("cluster-cidr", networking["podSubnet"])]
    sched_args = [("authentication-kubeconfig", f"{KUBERNETES}/scheduler.conf"),
                  ("authorization-kubeconfig", f"{KUBERNETES}/scheduler.conf"), ("bind-address", "127.0.0.1"),
                  ("kubeconfig", f"{KUBERNETES}/scheduler.conf"), ("leader-elect", "true")]
    certs = [host_path("ca-certs", "/etc/ssl/certs", read_only=True), host_path("k8s-certs", pki, read_only=True)]
    for component, args, volumes, extra, probe in (
            ("kube-apiserver", api_args, certs, (cluster_config.get("apiServer") or {}), port),
            ("kube-controller-manager", cm_args,
             certs + [host_path("kubeconfig", f"{KUBERNETES}/controller-manager.conf", "FileOrCreate", True)],
             (cluster_config.get("controllerManager") or {}), 10257),
            ("kube-scheduler", sched_args,
             [host_path("kubeconfig", f"{KUBERNETES}/scheduler.conf", "FileOrCreate", True)],
             (cluster_config.get("scheduler") or {}), 10259)):
        say(f'[control-plane] Creating static Pod manifest for "{component}"')
        for volume in extra.get("extraVolumes") or []:
            volumes = volumes + [host_path(volume["name"], volume["hostPath"], volume.get("pathType", ""),
                                           volume.get("readOnly", False))]
            volumes[-1][1]["mountPath"] = volume["mountPath"]
        annotations = ({"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": f"{address}:{port}"}
                       if component == "kube-apiserver" else None)
        pods[component] = static_pod(component, f"{repository}/{component}:{version}",
                                     [component] + extra_args(args, extra.get("extraArgs")), volumes, annotations,
                                     probe)
    for component, pod in pods.items():
        cluster.write_file(os.path.join(manifests, f"{component}.yaml"), yamlio.dump(pod), 0o600)


def write_kubelet_files(kubelet_config, registration, hostname, cri_socket):
    """[kubelet-start]: /var/lib/kubelet/kubeadm-flags.env and config.yaml."""
    flags = []
    if registration.get("name") and registration["name"] != hostname:
        flags.append(f"--hostname-override={registration['name']}")
    flags += [f"--{arg['name']}={arg.get('value', '')}" for arg in registration.get("kubeletExtraArgs") or []]
    say(f'[kubelet-start] Writing kubelet environment file with flags to file "{KUBELET_DIR}/kubeadm-flags.env"')
    cluster.write_file(common.root(f"{KUBELET_DIR}/kubeadm-flags.env"), f'KUBELET_KUBEADM_ARGS="{" ".join(flags)}"\n')
    config = dict(kubelet_config)
    config["containerRuntimeEndpoint"] = cri_socket
    say(f'[kubelet-start] Writing kubelet configuration to file "{KUBELET_DIR}/config.yaml"')
    cluster.write_file(common.root(f"{KUBELET_DIR}/config.yaml"), yamlio.dump(config))


def start_kubelet():
    say("[kubelet-start] Starting the kubelet")
    started = time.time()
    code, out, err = run_program("systemctl", "restart", "kubelet")
    if code != 0:
        print(f"\t[WARNING] The kubelet service could not be restarted: {(out + err).strip()}", file=sys.stderr)
    return started


def wait_kubelet(started, timeout):
    say(f"[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. "
        f"This can take up to {format_duration(timeout)}")
    host = common.node_name()

    def healthy():
        report = cluster.reports().get(host)
        return report and report.get("started", 0) >= started - 0.5 and cluster.fresh(report) and \
            _alive(report.get("pid"))
    begin = time.monotonic()
    if not cluster.wait_until(healthy, timeout):
        raise Failure(
            f"[kubelet-check] The kubelet is not healthy after {format_duration(timeout)}\n\n"
            "Unfortunately, an error has occurred, likely caused by:\n\t- The kubelet is not running\n"
            "\t- The kubelet is unhealthy due to a misconfiguration of the node in some way (required cgroups "
            "disabled)\n\nIf you are on a systemd-powered system, you can try to troubleshoot the error with the "
            "following commands:\n\t- 'systemctl status kubelet'\n\t- 'journalctl -xeu kubelet'\n\n"
            "error execution phase wait-control-plane: failed while waiting for the kubelet to start: "
            "The HTTP call equal to 'curl -sSL http://127.0.0.1:10248/healthz' returned error: "
            "connection refused" + STACK_HINT)
    say(f"[kubelet-check] The kubelet is healthy after {time.monotonic() - begin:.6f}s")


def _alive(pid):
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, TypeError, ValueError):
        return False


def format_duration(seconds):
    seconds = int(seconds)
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60}s"
    return f"{seconds}s"


def wait_control_plane(timeout):
    say(f"[control-plane-check] Waiting for healthy control plane components. This can take up to "
        f"{format_duration(timeout)}")
    host = common.node_name()

    def running():
        report = cluster.reports().get(host) or {}
        pods = report.get("staticPods", {})
        missing = [pod for pod in CONTROL_PLANE_PODS if pods.get(pod) != "Running"]
        return not missing and cluster.api_status()[0]
    if not cluster.wait_until(running, timeout):
        report = cluster.reports().get(host) or {}
        pods = report.get("staticPods", {})
        down = [pod for pod in CONTROL_PLANE_PODS if pods.get(pod) != "Running"]
        raise Failure(f"[control-plane-check] {', '.join(down) or 'kube-apiserver'} is not healthy after "
                      f"{format_duration(timeout)}\n\nA control plane component may have crashed or exited when "
                      "started by the container runtime.\nTo troubleshoot, list all containers using your "
                      "preferred container runtimes CLI.\n\nerror execution phase wait-control-plane: failed "
                      f"while waiting for the control plane to start: {cluster.api_status()[1]}" + STACK_HINT)
    for pod in ("kube-controller-manager", "kube-scheduler", "kube-apiserver"):
        say(f"[control-plane-check] {pod} is healthy")


def wait_node(name, timeout, phase):
    found = cluster.wait_until(lambda: cluster.get("Node", "v1", None, name), timeout)
    if not found:
        raise Failure(f"error execution phase {phase}: timed out waiting for the Node \"{name}\" to register "
                      f"(the kubelet did not register it within {format_duration(timeout)})" + STACK_HINT)
    return found


def mark_control_plane(name, taints):
    labels = [cluster.CONTROL_PLANE_LABEL, "node.kubernetes.io/exclude-from-external-load-balancers"]
    say(f"[mark-control-plane] Marking the node {name} as control-plane by adding the labels: [{' '.join(labels)}]")
    if taints:
        text = " ".join(f"{t['key']}{'=' + t['value'] if t.get('value') else ''}:{t['effect']}" for t in taints)
        say(f"[mark-control-plane] Marking the node {name} as control-plane by adding the taints [{text}]")
    with common.locked():
        node = cluster.get("Node", "v1", None, name)
        node["metadata"].setdefault("labels", {}).update({label: "" for label in labels})
        spec = node.setdefault("spec", {})
        existing = spec.get("taints") or []
        for taint in taints:
            if not any(t.get("key") == taint["key"] and t.get("effect") == taint["effect"] for t in existing):
                existing.append(taint)
        if existing:
            spec["taints"] = existing
        cluster.put(node)


def registration_taints(registration, control_plane):
    if "taints" in registration and registration["taints"] is not None:
        return registration["taints"]
    return [dict(cluster.CONTROL_PLANE_TAINT)] if control_plane else []


# --- init ---

INIT_FLAGS = {"config": "value", "upload-certs": "bool", "certificate-key": "value",
              "ignore-preflight-errors": "list", "skip-phases": "list", "skip-token-print": "bool",
              "skip-certificate-key-print": "bool", "dry-run": "bool", "kubernetes-version": "value",
              "control-plane-endpoint": "value", "pod-network-cidr": "value", "service-cidr": "value",
              "service-dns-domain": "value", "apiserver-advertise-address": "value",
              "apiserver-bind-port": "value", "apiserver-cert-extra-sans": "list", "node-name": "value",
              "cri-socket": "value", "image-repository": "value", "token": "value", "token-ttl": "value",
              "cert-dir": "value", "feature-gates": "value", "patches": "value"}


def cmd_init(args):
    words = [a for a in args if not a.startswith("-")]
    if words and words[0] == "phase":
        return cmd_init_phase(args[args.index("phase") + 1:])
    flags = flags_of(args, INIT_FLAGS)
    if flags.positional:
        raise Failure(f'unknown command "{flags.positional[0]}" for "kubeadm init"' + STACK_HINT)
    if flags.get("dry-run") or flags.get("skip-phases") or flags.get("patches") or flags.get("feature-gates"):
        raise Failure("kubeadm stand-in: --dry-run, --skip-phases, --patches and --feature-gates are not simulated")
    no_mixing(flags, {"upload-certs", "ignore-preflight-errors", "skip-phases", "skip-token-print",
                      "skip-certificate-key-print", "dry-run"})
    if "config" in flags:
        docs = configapi.decode_all(read_config_file(flags.get("config")),
                                    ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration",
                                     "KubeProxyConfiguration"])
    else:
        docs = init_docs_from_flags(flags)
    init = docs.get("InitConfiguration") or {"apiVersion": configapi.KUBEADM_API, "kind": "InitConfiguration"}
    cluster_config = docs.get("ClusterConfiguration") or {}
    version = configapi.check_kubernetes_version(cluster_config.get("kubernetesVersion"), KUBEADM_VERSION)
    errors = configapi.validate_init(init)
    configapi.validate_cluster(errors, cluster_config)
    errors.errors += configapi.validate_kubelet(docs.get("KubeletConfiguration") or {}).errors
    errors.errors += configapi.validate_proxy(docs.get("KubeProxyConfiguration") or {}).errors
    errors.raise_if_any()
    cluster_config = complete_cluster(cluster_config)
    cluster_config["kubernetesVersion"] = version
    registration = init.get("nodeRegistration") or {}
    hostname = common.node_name()
    name = registration.get("name") or hostname.lower()
    cri_socket = registration.get("criSocket") or cluster.DEFAULT_CRI_SOCKET
    endpoint_local = init.get("localAPIEndpoint") or {}
    address = endpoint_local.get("advertiseAddress") or default_address()
    port = endpoint_local.get("bindPort") or 6443
    endpoint = cluster_config.get("controlPlaneEndpoint") or f"{address}:{port}"
    if configapi.split_host_port(endpoint)[1] is None:
        endpoint = f"{endpoint}:{port}"
    key = init.get("certificateKey") or ""

    say(f"[init] Using Kubernetes version: {version}")
    say("[preflight] Running pre-flight checks")
    existing = cluster.load()
    if existing and any(node != name for node in existing.get("controlPlanes", {})):
        raise Failure("error execution phase preflight: testbed stand-in: this testbed already has a cluster "
                      f"(control plane {', '.join(existing['controlPlanes'])}); `kubeadm reset` it first"
                      + STACK_HINT)
    check = Preflight((registration.get("ignorePreflightErrors") or []) + (flags.get("ignore-preflight-errors") or []))
    check_node(check, cri_socket, True, cluster_config["etcd"]["local"]["dataDir"])
    check.finish()
    pull_images(check, cluster.images(cluster_config, version), cri_socket,
                registration.get("imagePullPolicy", "IfNotPresent"))
    check.finish()

    pki = common.root(pki_dir(cluster_config))
    say(f'[certs] Using certificateDir folder "{pki_dir(cluster_config)}"')
    say('[certs] Generating "ca" certificate and key')
    cluster.make_ca(f"{pki}/ca.crt", f"{pki}/ca.key", "kubernetes", cluster_config["encryptionAlgorithm"])
    say('[certs] Generating "front-proxy-ca" certificate and key')
    cluster.make_ca(f"{pki}/front-proxy-ca.crt", f"{pki}/front-proxy-ca.key", "front-proxy-ca", "ECDSA-P256")
    say('[certs] Generating "etcd/ca" certificate and key')
    cluster.make_ca(f"{pki}/etcd/ca.crt", f"{pki}/etcd/ca.key", "etcd-ca", "ECDSA-P256")
    make_node_certs(pki, name, address, cluster_config)
    say('[certs] Generating "sa" key and public key')
    cluster.make_key_pair(f"{pki}/sa.key", f"{pki}/sa.pub")
    ca_pem = cluster.read_text(f"{pki}/ca.crt")

    kubelet_config = kubelet_configuration(docs.get("KubeletConfiguration"), cluster_config)
    with common.locked():
        state = {"clusterName": cluster_config["clusterName"], "endpoint": endpoint, "kubernetesVersion": version,
                 "caCert": ca_pem, "caHash": cluster.ca_hash(ca_pem), "tokens": {}, "uploadedCerts": None,
                 # the controller-manager's signing key, which signs the kubelet certificates of joining nodes
                 "caKey": cluster.read_text(f"{pki}/ca.key"),
                 "etcd": {"clusterID": 0, "members": []}, "controlPlanes": {name: f"{address}:{port}"},
                 "certs": {}, "clusterConfiguration": cluster_config, "kubeletConfiguration": kubelet_config,
                 "kubeProxyConfiguration": docs.get("KubeProxyConfiguration") or {}}
        state["etcd"]["clusterID"] = cluster.new_member_id(state)
        state["etcd"]["members"].append({"ID": cluster.new_member_id(state), "name": name,
                                         "peerURLs": [f"https://{address}:2380"],
                                         "clientURLs": [f"https://{address}:2379"]})
        write_kubeconfigs(state, pki, name, endpoint, f"{address}:{port}", True)
        cluster.save(state)
    write_manifests(cluster_config, name, address, port, version, f"{name}=https://{address}:2380", "new")
    write_kubelet_files(kubelet_config, registration, hostname, cri_socket)
    started = start_kubelet()
    say(f'[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from '
        f'directory "{MANIFESTS}"')
    wait_kubelet(started, timeout_of(init, "kubeletHealthCheck", 240))
    wait_control_plane(timeout_of(init, "controlPlaneComponentHealthCheck", 240))
    say('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    say("[kubelet] Creating a ConfigMap \"kubelet-config\" in namespace kube-system with the configuration for the "
        "kubelets in the cluster")
    with common.locked():
        store_cluster_objects(cluster_config, kubelet_config, docs.get("KubeProxyConfiguration") or {}, ca_pem,
                              endpoint)
    if flags.get("upload-certs"):
        key = upload_certs(pki, key or None)
    wait_node(name, timeout_of(init, "kubeletHealthCheck", 240), "mark-control-plane")
    mark_control_plane(name, registration_taints(registration, True))
    tokens = init.get("bootstrapTokens") or [{}]
    with common.locked():
        state = cluster.load()
        for token in tokens:
            value = token.get("token") or cluster.new_token()
            ttl = configapi.duration_seconds(token["ttl"]) if token.get("ttl") else 24 * 3600
            cluster.add_token(state, value, ttl, token.get("usages"), token.get("groups"), token.get("description", ""))
            say(f"[bootstrap-token] Using token: {value}")
            token["token"] = value
        cluster.save(state)
    say("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
    say('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace')
    say("[kubelet-finalize] Updating \"/etc/kubernetes/kubelet.conf\" to point to a rotatable kubelet client "
        "certificate and key")
    with common.locked():
        store_addons(cluster_config, version)
    if not (cluster_config.get("dns") or {}).get("disabled"):
        say("[addons] Applied essential addon: CoreDNS")
    if not (cluster_config.get("proxy") or {}).get("disabled"):
        say("[addons] Applied essential addon: kube-proxy")
    print_init_success(endpoint, tokens[0]["token"], cluster.load()["caHash"], key if flags.get("upload-certs") else "",
                       bool(cluster_config.get("controlPlaneEndpoint")), flags.get("skip-certificate-key-print"))
    return 0


def init_docs_from_flags(flags):
    init = {"apiVersion": configapi.KUBEADM_API, "kind": "InitConfiguration"}
    cluster_config = {"apiVersion": configapi.KUBEADM_API, "kind": "ClusterConfiguration"}
    if "kubernetes-version" in flags:
        cluster_config["kubernetesVersion"] = flags.get("kubernetes-version")
    for flag, key in (("control-plane-endpoint", "controlPlaneEndpoint"), ("image-repository", "imageRepository"),
                      ("cert-dir", "certificatesDir")):
        if flag in flags:
            cluster_config[key] = flags.get(flag)
    for flag, key in (("pod-network-cidr", "podSubnet"), ("service-cidr", "serviceSubnet"),
                      ("service-dns-domain", "dnsDomain")):
        if flag in flags:
            cluster_config.setdefault("networking", {})[key] = flags.get(flag)
    if "apiserver-cert-extra-sans" in flags:
        cluster_config["apiServer"] = {"certSANs": flags.get("apiserver-cert-extra-sans")}
    if "apiserver-advertise-address" in flags:
        init.setdefault("localAPIEndpoint", {})["advertiseAddress"] = flags.get("apiserver-advertise-address")
    if "apiserver-bind-port" in flags:
        init.setdefault("localAPIEndpoint", {})["bindPort"] = int(flags.get("apiserver-bind-port"))
    for flag, key in (("node-name", "name"), ("cri-socket", "criSocket")):
        if flag in flags:
            init.setdefault("nodeRegistration", {})[key] = flags.get(flag)
    if "certificate-key" in flags:
        init["certificateKey"] = flags.get("certificate-key")
    if "token" in flags or "token-ttl" in flags:
        token = {}
        if "token" in flags:
            token["token"] = flags.get("token")
        if "token-ttl" in flags:
            token["ttl"] = flags.get("token-ttl")
        init["bootstrapTokens"] = [token]
    return {"InitConfiguration": init, "ClusterConfiguration": cluster_config}


def write_kubeconfigs(state, pki, name, endpoint, local, first):
    say(f'[kubeconfig] Using kubeconfig folder "{KUBERNETES}"')
    cluster_name = state["clusterName"]
    files = [("admin.conf", f"https://{endpoint}", "kubernetes-admin", "/O=kubeadm:cluster-admins/CN=kubernetes-admin",
              {"cn": "kubernetes-admin", "o": "kubeadm:cluster-admins"})]
    if first:
        files.append(("super-admin.conf", f"https://{endpoint}", "kubernetes-super-admin",
                      "/O=system:masters/CN=kubernetes-super-admin",
                      {"cn": "kubernetes-super-admin", "o": "system:masters"}))
    files += [("kubelet.conf", f"https://{endpoint}", f"system:node:{name}", f"/O=system:nodes/CN=system:node:{name}",
               {"cn": f"system:node:{name}", "o": "system:nodes"}),
              ("controller-manager.conf", f"https://{local}", "system:kube-controller-manager",
               "/CN=system:kube-controller-manager", {"cn": "system:kube-controller-manager", "o": ""}),
              ("scheduler.conf", f"https://{local}", "system:kube-scheduler", "/CN=system:kube-scheduler",
               {"cn": "system:kube-scheduler", "o": ""})]
    for file, server, user, subject, identity in files:
        say(f'[kubeconfig] Writing "{file}" kubeconfig file')
        cluster.issue_client_config(state, pki, common.root(f"{KUBERNETES}/{file}"), server, user, subject, identity,
                                    cluster_name)


def configmap(name, namespace, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": data}


def store_cluster_objects(cluster_config, kubelet_config, proxy_config, ca_pem, endpoint):
    for namespace in ("default", "kube-system", "kube-public", "kube-node-lease"):
        if not cluster.get("Namespace", "v1", None, namespace):
            cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace},
                         "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    cluster.put(configmap("kubeadm-config", "kube-system", {"ClusterConfiguration": yamlio.dump(cluster_config)}))
    cluster.put(configmap("kubelet-config", "kube-system", {"kubelet": yamlio.dump(kubelet_config)}))
    kubeconfig = {"apiVersion": "v1", "clusters": [{"cluster": {"certificate-authority-data": cluster.b64(ca_pem),
                                                                "server": f"https://{endpoint}"}, "name": ""}],
                  "contexts": None, "current-context": "", "kind": "Config", "preferences": {}, "users": None}
    cluster.put(configmap("cluster-info", "kube-public", {"kubeconfig": yamlio.dump(kubeconfig)}))
    proxy = {"apiVersion": configapi.KUBEPROXY_API, "kind": "KubeProxyConfiguration",
             "clusterCIDR": (cluster_config.get("networking") or {}).get("podSubnet", ""), "mode": ""}
    proxy.update(proxy_config)
    cluster.put(configmap("kube-proxy", "kube-system", {"config.conf": yamlio.dump(proxy)}))


def store_addons(cluster_config, version):
    repository = cluster_config.get("imageRepository") or "registry.k8s.io"
    if not (cluster_config.get("proxy") or {}).get("disabled"):
        labels = {"k8s-app": "kube-proxy"}
        cluster.put({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "kube-proxy", "namespace": "kube-system", "labels": labels},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": "kube-proxy", "image": f"{repository}/kube-proxy:{version}",
                                         "command": ["/usr/local/bin/kube-proxy",
                                                     "--config=/var/lib/kube-proxy/config.conf",
                                                     "--hostname-override=$(NODE_NAME)"]}],
                         "hostNetwork": True, "nodeSelector": {"kubernetes.io/os": "linux"},
                         "priorityClassName": "system-node-critical", "serviceAccountName": "kube-proxy",
                         "tolerations": [{"operator": "Exists"}]}},
                     "updateStrategy": {"type": "RollingUpdate"}},
        })
    dns = cluster_config.get("dns") or {}
    if not dns.get("disabled"):
        image = cluster.images(cluster_config, version)
        coredns = next(i for i in image if "/coredns:" in i)
        labels = {"k8s-app": "kube-dns"}
        cluster.put({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": "coredns", "image": coredns, "args": ["-conf", "/etc/coredns/Corefile"]}],
                         "priorityClassName": "system-cluster-critical",
                         "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                         {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]}}},
        })


def print_init_success(endpoint, token, ca_hash, key, has_endpoint, skip_key_print):
    join = f"kubeadm join {endpoint} --token {token} \\\n\t--discovery-token-ca-cert-hash {ca_hash}"
    say("\nYour Kubernetes control-plane has initialized successfully!\n")
    say("To start using your cluster, you need to run the following as a regular user:\n")
    say("  mkdir -p $HOME/.kube\n  sudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n"
        "  sudo chown $(id -u):$(id -g) $HOME/.kube/config\n")
    say("Alternatively, if you are the root user, you can run:\n\n  export KUBECONFIG=/etc/kubernetes/admin.conf\n")
    say("You should now deploy a pod network to the cluster.\nRun \"kubectl apply -f [podnetwork].yaml\" with one of "
        "the options listed at:\n  https://kubernetes.io/docs/concepts/cluster-administration/addons/\n")
    if has_endpoint:
        say("You can now join any number of control-plane nodes running the following command on each as root:\n")
        shown = key if key and not skip_key_print else "<value withheld>"
        say(f"  {join} \\\n\t--control-plane" + (f" --certificate-key {shown}" if key else "") + "\n")
        if key:
            say("Please note that the certificate-key gives access to cluster sensitive data, keep it secret!\n"
                "As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use\n"
                "\"kubeadm init phase upload-certs --upload-certs\" to reload certs afterward.\n")
    say("Then you can join any number of worker nodes by running the following on each as root:\n")
    say(join)


def upload_certs(pki, key):
    say('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    key = key or new_certificate_key()
    files = {}
    for relative in SHARED_CERTS:
        files[relative] = cluster.read_text(os.path.join(pki, relative))
    with common.locked():
        state = cluster.load()
        # The Secret is replaced by each upload: only the latest key opens it (as real), for two hours.
        state["uploadedCerts"] = {"key": key, "expires": common.now() + cluster.CERT_KEY_TTL, "files": files}
        cluster.save(state)
    say("[upload-certs] Using certificate key:")
    say(key)
    return key


def new_certificate_key():
    return os.urandom(32).hex()


def cmd_init_phase(args):
    words = [a for a in args if not a.startswith("-")]
    if not words or words[0] != "upload-certs":
        raise Failure(f"kubeadm stand-in: only \"kubeadm init phase upload-certs\" is simulated" + STACK_HINT)
    flags = flags_of(args[args.index("upload-certs") + 1:], {"upload-certs": "bool", "certificate-key": "value",
                                                              "config": "value", "kubeconfig": "value",
                                                              "skip-certificate-key-print": "bool"})
    key = flags.get("certificate-key")
    if "config" in flags:
        docs = configapi.decode_all(read_config_file(flags.get("config")),
                                    ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration",
                                     "KubeProxyConfiguration"])
        key = key or (docs.get("InitConfiguration") or {}).get("certificateKey")
    if key and not configapi.CERT_KEY.match(key):
        raise Failure(f"error execution phase upload-certs: error decoding certificate key: "
                      f"the certificate key must be a hex encoded AES key of 32 bytes" + STACK_HINT)
    if not flags.get("upload-certs"):
        say("[upload-certs] Skipping phase. Please see --upload-certs")
        return 0
    state = cluster.load()
    admin = common.root(f"{KUBERNETES}/admin.conf")
    if not state or not os.path.exists(admin) or not cluster.api_status(state)[0]:
        raise Failure("error execution phase upload-certs: failed to load admin kubeconfig: open "
                      f"{KUBERNETES}/admin.conf: no such file or directory" if not os.path.exists(admin) else
                      "error execution phase upload-certs: error uploading certs: the API server is not reachable: "
                      + (cluster.api_status(state)[1] if state else "no cluster"))
    pki = common.root(pki_dir(state["clusterConfiguration"]))
    upload_certs(pki, key)
    return 0


# --- token, certs ---

def cmd_token(args):
    words = [a for a in args if not a.startswith("-")]
    sub = words[0] if words else ""
    rest = args[args.index(sub) + 1:] if sub else args
    flags = flags_of(rest, {"ttl": "value", "print-join-command": "bool", "certificate-key": "value",
                            "description": "value", "usages": "list", "groups": "list", "config": "value",
                            "kubeconfig": "value", "dry-run": "bool", "output": "value"}, {"o": "output"})
    state = require_admin(flags.get("kubeconfig"))
    if sub == "create":
        value = flags.positional[0] if flags.positional else cluster.new_token()
        if not configapi.TOKEN.match(value):
            raise Failure(f'the bootstrap token "{value}" was not of the form {configapi.TOKEN_FORM}' + STACK_HINT)
        ttl = parse_ttl(flags.get("ttl", "24h0m0s"))
        key = flags.get("certificate-key")
        if key and not configapi.CERT_KEY.match(key):
            raise Failure("error decoding certificate key: the certificate key must be a hex encoded AES key of "
                          "32 bytes" + STACK_HINT)
        with common.locked():
            state = cluster.load()
            cluster.expire_tokens(state)
            cluster.add_token(state, value, ttl, flags.get("usages"), flags.get("groups"), flags.get("description", ""))
            cluster.save(state)
        if flags.get("print-join-command"):
            line = f"kubeadm join {state['endpoint']} --token {value} --discovery-token-ca-cert-hash {state['caHash']} "
            if key:
                line += f"--control-plane --certificate-key {key} "
            say(line)
        else:
            say(value)
        return 0
    if sub == "list":
        with common.locked():
            state = cluster.load()
            cluster.expire_tokens(state)
            cluster.save(state)
        say("TOKEN                     TTL         EXPIRES                USAGES                   DESCRIPTION"
            "                                                EXTRA GROUPS")
        for token_id, token in sorted(state["tokens"].items()):
            left = "<forever>" if token["expires"] is None else format_ttl(token["expires"] - common.now())
            expires = "<never>" if token["expires"] is None else cluster.timestamp(token["expires"])
            say(f"{token_id}.{token['secret']}   {left:<11} {expires:<22} {','.join(token['usages']):<24} "
                f"{token['description'] or '<none>':<58} {','.join(token['groups'])}")
        return 0
    if sub == "delete":
        if not flags.positional:
            raise Failure("missing subcommand; 'token delete' is missing token of form \"[a-z0-9]{6}\"" + STACK_HINT)
        with common.locked():
            state = cluster.load()
            for value in flags.positional:
                token_id = value.split(".")[0]
                if token_id not in state["tokens"]:
                    raise Failure(f'secrets "bootstrap-token-{token_id}" not found' + STACK_HINT)
                del state["tokens"][token_id]
                say(f'bootstrap token "{token_id}" deleted')
            cluster.save(state)
        return 0
    raise Failure(f'kubeadm stand-in: "kubeadm token {sub}" is not simulated (create, list, delete)' + STACK_HINT)


def format_ttl(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def require_admin(kubeconfig=None):
    """The admin credentials kubeadm token uses (/etc/kubernetes/admin.conf), and a reachable API."""
    path = kubeconfig or f"{KUBERNETES}/admin.conf"
    if not os.path.exists(common.root(path)):
        raise Failure(f"failed to load admin kubeconfig: open {path}: no such file or directory" + STACK_HINT)
    state = cluster.load()
    ok, why = cluster.api_status(state)
    if not ok:
        endpoint = state["endpoint"] if state else "localhost:6443"
        raise Failure(f'failed to create API client: Get "https://{endpoint}/api?timeout=32s": dial tcp '
                      f"{endpoint}: connect: connection refused ({why})" + STACK_HINT)
    return state


def cmd_certs(args):
    words = [a for a in args if not a.startswith("-")]
    if words[:1] != ["certificate-key"]:
        raise Failure('kubeadm stand-in: only "kubeadm certs certificate-key" is simulated' + STACK_HINT)
    flags_of(args[args.index("certificate-key") + 1:], {})
    say(new_certificate_key())
    return 0


# --- join ---

JOIN_FLAGS = {"config": "value", "token": "value", "discovery-token": "value", "tls-bootstrap-token": "value",
              "discovery-token-ca-cert-hash": "list", "discovery-token-unsafe-skip-ca-verification": "bool",
              "discovery-file": "value", "control-plane": "bool", "certificate-key": "value",
              "apiserver-advertise-address": "value", "apiserver-bind-port": "value", "node-name": "value",
              "cri-socket": "value", "ignore-preflight-errors": "list", "skip-phases": "list", "dry-run": "bool",
              "patches": "value"}


def cmd_join(args):
    flags = flags_of(args, JOIN_FLAGS)
    if flags.get("dry-run") or flags.get("skip-phases") or flags.get("patches"):
        raise Failure("kubeadm stand-in: --dry-run, --skip-phases and --patches are not simulated")
    no_mixing(flags, {"ignore-preflight-errors", "skip-phases", "dry-run"})
    if "config" in flags:
        if flags.positional:
            raise Failure(f"can not mix '--config' with arguments [{flags.positional[0]}]" + STACK_HINT)
        docs = configapi.decode_all(read_config_file(flags.get("config")),
                                    ["JoinConfiguration", "KubeletConfiguration", "KubeProxyConfiguration"])
        join = docs.get("JoinConfiguration")
        if not join:
            raise Failure("no JoinConfiguration kind was found in the YAML file" + STACK_HINT)
    else:
        join = join_from_flags(flags)
    configapi.validate_join(join).raise_if_any()
    registration = join.get("nodeRegistration") or {}
    discovery = join["discovery"]["bootstrapToken"]
    control_plane = join.get("controlPlane")
    hostname = common.node_name()
    name = registration.get("name") or hostname.lower()
    cri_socket = registration.get("criSocket") or cluster.DEFAULT_CRI_SOCKET

    say("[preflight] Running pre-flight checks")
    check = Preflight((registration.get("ignorePreflightErrors") or []) + (flags.get("ignore-preflight-errors") or []))
    check_node(check, cri_socket, control_plane is not None, "/var/lib/etcd" if control_plane is not None else None)
    check.finish()

    state = discover(discovery, join.get("discovery", {}).get("tlsBootstrapToken"),
                     timeout_of(join, "discovery", 300))
    say("[preflight] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...")
    existing = cluster.get("Node", "v1", None, name)
    if existing and cluster.node_ready(existing):
        raise Failure(f'error execution phase kubelet-start: a Node with name "{name}" and status "Ready" already '
                      "exists in the cluster. You must delete the existing Node or change the name of this new "
                      "joining Node" + STACK_HINT)
    cluster_config = state["clusterConfiguration"]
    version = state["kubernetesVersion"]
    if control_plane is not None:
        if not cluster_config.get("controlPlaneEndpoint"):
            raise Failure("error execution phase preflight: \nOne or more conditions for hosting a new control plane "
                          "instance is not satisfied.\n\nunable to add a new control plane instance to a cluster that "
                          "doesn't have a stable controlPlaneEndpoint address\n\nPlease ensure that:\n* The cluster "
                          "has a stable controlPlaneEndpoint address.\n* The certificates that must be shared among "
                          "control plane instances are provided.\n" + STACK_HINT)
        say("[preflight] Running pre-flight checks before initializing the new control plane instance")
        pull_images(check, cluster.images(cluster_config, version), cri_socket,
                    registration.get("imagePullPolicy", "IfNotPresent"))
        check.finish()
        join_control_plane(join, control_plane, state, name, hostname, registration, cri_socket, discovery)
    else:
        join_worker(join, state, name, hostname, registration, cri_socket, discovery)
    return 0


def join_from_flags(flags):
    if len(flags.positional) > 1:
        raise Failure(f"accepts at most 1 arg(s), received {len(flags.positional)}" + STACK_HINT)
    token = flags.get("discovery-token") or flags.get("token") or ""
    join = {"apiVersion": configapi.KUBEADM_API, "kind": "JoinConfiguration",
            "discovery": {"bootstrapToken": {"token": token,
                                             "apiServerEndpoint": flags.positional[0] if flags.positional else "",
                                             "caCertHashes": flags.get("discovery-token-ca-cert-hash") or [],
                                             "unsafeSkipCAVerification":
                                                 bool(flags.get("discovery-token-unsafe-skip-ca-verification"))}}}
    if flags.get("tls-bootstrap-token"):
        join["discovery"]["tlsBootstrapToken"] = flags.get("tls-bootstrap-token")
    if flags.get("discovery-file"):
        join["discovery"] = {"file": {"kubeConfigPath": flags.get("discovery-file")}}
    registration = {}
    for flag, key in (("node-name", "name"), ("cri-socket", "criSocket")):
        if flag in flags:
            registration[key] = flags.get(flag)
    if registration:
        join["nodeRegistration"] = registration
    if flags.get("control-plane"):
        plane = {}
        if "certificate-key" in flags:
            plane["certificateKey"] = flags.get("certificate-key")
        endpoint = {}
        if "apiserver-advertise-address" in flags:
            endpoint["advertiseAddress"] = flags.get("apiserver-advertise-address")
        if "apiserver-bind-port" in flags:
            endpoint["bindPort"] = int(flags.get("apiserver-bind-port"))
        if endpoint:
            plane["localAPIEndpoint"] = endpoint
        join["controlPlane"] = plane
    elif "certificate-key" in flags or "apiserver-advertise-address" in flags:
        raise Failure("--certificate-key and --apiserver-advertise-address need --control-plane" + STACK_HINT)
    return join


def discover(discovery, tls_token, timeout):
    """Token discovery: the endpoint must be this cluster's, the token's signature on cluster-info must
    exist (token known, not expired), and the cluster CA must match a pinned hash."""
    endpoint = discovery["apiServerEndpoint"]
    say("[preflight] Discovering cluster-info...")

    def reachable():
        state = cluster.load()
        if not state:
            return None
        addresses = {state["endpoint"]} | set(state.get("controlPlanes", {}).values())
        if endpoint not in addresses or not cluster.api_status(state)[0]:
            return None
        return state
    # Real kubeadm retries discovery until its timeout; a wrong endpoint never answers, so the
    # stand-in waits only a little (a kubelet heartbeat) before failing the same way.
    state = cluster.wait_until(reachable, min(timeout, 2 * cluster.HEARTBEAT + 1))
    if not state:
        raise Failure(f'error execution phase preflight: couldn\'t validate the identity of the API Server: Get '
                      f'"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": '
                      f"dial tcp {endpoint}: connect: connection refused" + STACK_HINT)
    token_id, secret = discovery["token"].split(".")
    with common.locked():
        state = cluster.load()
        cluster.expire_tokens(state)
        cluster.save(state)
        token = state["tokens"].get(token_id)
        if token is None:
            raise Failure("error execution phase preflight: couldn't validate the identity of the API Server: "
                          f'could not find a JWS signature in the cluster-info ConfigMap for token ID "{token_id}"'
                          + STACK_HINT)
        if token["secret"] != secret:
            raise Failure("error execution phase preflight: couldn't validate the identity of the API Server: "
                          "failed to verify JWS signature of received cluster info object, can't trust this API "
                          "Server" + STACK_HINT)
        # Stricter than real kubeadm, where a bootstrap token is reusable until it expires: the issue asks
        # that a token joins one node only, so a second use is refused.
        if token.get("usedBy"):
            raise Failure("error execution phase preflight: couldn't validate the identity of the API Server: "
                          f'the bootstrap token "{token_id}" was already used to join node "{token["usedBy"]}" '
                          "(testbed stand-in: tokens are single-use; create a new one with "
                          "`kubeadm token create`)" + STACK_HINT)
        if tls_token and tls_token.split(".")[0] not in state["tokens"]:
            raise Failure("error execution phase kubelet-start: the TLS bootstrap token is not known to the "
                          "cluster: Unauthorized" + STACK_HINT)
    hashes = discovery.get("caCertHashes") or []
    if hashes and state["caHash"] not in hashes:
        raise Failure("error execution phase preflight: couldn't validate the identity of the API Server: "
                      f'cluster CA found in cluster-info ConfigMap is invalid: none of the public keys '
                      f'"{state["caHash"]}" are pinned' + STACK_HINT)
    say(f'[preflight] Cluster info signature and contents are valid and {"TLS certificate validates against pinned roots" if hashes else "no TLS pinning was specified"}, '
        f'will use API Server "{endpoint}"')
    return state


def mark_token_used(discovery, name):
    with common.locked():
        state = cluster.load()
        token = state["tokens"].get(discovery["token"].split(".")[0])
        if token is not None:
            token["usedBy"] = name
        cluster.save(state)


def join_worker(join, state, name, hostname, registration, cri_socket, discovery):
    pki_relative = pki_dir(state["clusterConfiguration"])
    ca_path = join.get("caCertPath") or f"{pki_relative}/ca.crt"
    cluster.write_file(common.root(ca_path), state["caCert"])
    say("[kubelet-start] Writing kubelet configuration to file \"/var/lib/kubelet/config.yaml\"")
    with common.locked():
        current = cluster.load()
        # TLS bootstrap, done by kubeadm here: the kubelet gets its client certificate signed by the CA.
        with tempfile_dir() as temporary:
            shutil.copy(common.root(ca_path), os.path.join(temporary, "ca.crt"))
            write_ca_key(current, temporary)
            cluster.issue_client_config(current, temporary, common.root(f"{KUBERNETES}/kubelet.conf"),
                                        f"https://{discovery['apiServerEndpoint']}", f"system:node:{name}",
                                        f"/O=system:nodes/CN=system:node:{name}",
                                        {"cn": f"system:node:{name}", "o": "system:nodes"}, current["clusterName"])
        cluster.save(current)
    mark_token_used(discovery, name)
    write_kubelet_files(state["kubeletConfiguration"], registration, hostname, cri_socket)
    started = start_kubelet()
    wait_kubelet(started, timeout_of(join, "kubeletHealthCheck", 240))
    say("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
    wait_node(name, timeout_of(join, "tlsBootstrap", 300), "kubelet-start")
    say("\nThis node has joined the cluster:\n* Certificate signing request was sent to apiserver and a response was "
        "received.\n* The Kubelet was informed of the new secure connection details.\n\nRun 'kubectl get nodes' on "
        "the control-plane to see this node join the cluster.\n")


class tempfile_dir:
    def __enter__(self):
        import tempfile
        self.path = tempfile.mkdtemp()
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def write_ca_key(state, directory):
    """The CA key the controller-manager signs kubelet certificates with: the uploaded copy or the key on
    the first control plane's disk (the stand-in reaches it through the shared state it kept at init)."""
    key = (state.get("caKey") or ((state.get("uploadedCerts") or {}).get("files") or {}).get("ca.key"))
    if key is None:
        raise Failure("error execution phase kubelet-start: the cluster cannot sign the kubelet certificate "
                      "(testbed stand-in: CA key missing from the simulated cluster)" + STACK_HINT)
    cluster.write_file(os.path.join(directory, "ca.key"), key, 0o600)


def join_control_plane(join, plane, state, name, hostname, registration, cri_socket, discovery):
    key = plane.get("certificateKey")
    uploaded = state.get("uploadedCerts")
    say("[download-certs] Downloading the certificates in Secret \"kubeadm-certs\" in the \"kube-system\" Namespace")
    if not key:
        raise Failure("error execution phase control-plane-prepare/download-certs: the certificate key is "
                      "required to download the certificates for a new control plane instance "
                      "(controlPlane.certificateKey or --certificate-key)" + STACK_HINT)
    if not uploaded or uploaded["expires"] <= common.now():
        raise Failure("error execution phase control-plane-prepare/download-certs: error downloading certs: "
                      "error downloading the secret: Secret \"kubeadm-certs\" was not found in the \"kube-system\" "
                      "Namespace. This Secret might have expired. Please, run `kubeadm init phase upload-certs "
                      "--upload-certs` on a control plane to generate a new one" + STACK_HINT)
    if uploaded["key"] != key:
        raise Failure("error execution phase control-plane-prepare/download-certs: error downloading certs: "
                      "error decoding secret data with provided key: cipher: message authentication failed"
                      + STACK_HINT)
    cluster_config = state["clusterConfiguration"]
    local = plane.get("localAPIEndpoint") or {}
    address = local.get("advertiseAddress") or default_address()
    port = local.get("bindPort") or 6443
    pki_relative = pki_dir(cluster_config)
    pki = common.root(pki_relative)
    for relative, text in uploaded["files"].items():
        cluster.write_file(os.path.join(pki, relative), text, 0o600 if relative.endswith(".key") else 0o644)
    say(f'[certs] Using certificateDir folder "{pki_relative}"')
    make_node_certs(pki, name, address, cluster_config)
    with common.locked():
        current = cluster.load()
        write_kubeconfigs(current, pki, name, current["endpoint"], f"{address}:{port}", False)
        members = current["etcd"]["members"]
        say(f"[etcd] Announced new etcd member joining to the existing etcd cluster")
        members.append({"ID": cluster.new_member_id(current), "name": name, "peerURLs": [f"https://{address}:2380"],
                        "clientURLs": [f"https://{address}:2379"]})
        current["controlPlanes"][name] = f"{address}:{port}"
        cluster.save(current)
    mark_token_used(discovery, name)
    initial = ",".join(f"{m['name']}=" + m["peerURLs"][0] for m in members)
    write_manifests(cluster_config, name, address, port, state["kubernetesVersion"], initial, "existing")
    write_kubelet_files(state["kubeletConfiguration"], registration, hostname, cri_socket)
    started = start_kubelet()
    wait_kubelet(started, timeout_of(join, "kubeletHealthCheck", 240))
    say("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
    say(f"[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s")
    wait_control_plane(timeout_of(join, "controlPlaneComponentHealthCheck", 240))
    wait_node(name, timeout_of(join, "tlsBootstrap", 300), "kubelet-start")
    mark_control_plane(name, registration_taints(registration, True))
    say("\nThis node has joined the cluster and a new control plane instance was created:\n\n"
        "* Certificate signing request was sent to apiserver and approval was received.\n"
        "* The Kubelet was informed of the new secure connection details.\n"
        "* Control plane label and taint were applied to the new node.\n"
        "* The Kubernetes control plane instances scaled up.\n"
        "* A new etcd member was added to the local/stacked etcd cluster.\n\n"
        "To start administering your cluster from this node, you need to run the following as a regular user:\n\n"
        "\tmkdir -p $HOME/.kube\n\tsudo cp -i /etc/kubernetes/admin.conf $HOME/.kube/config\n"
        "\tsudo chown $(id -u):$(id -g) $HOME/.kube/config\n\nRun 'kubectl get nodes' to see this node join the "
        "cluster.\n")


# --- reset ---

def cmd_reset(args):
    flags = flags_of(args, {"force": "bool", "cri-socket": "value", "cleanup-tmp-dir": "bool",
                            "ignore-preflight-errors": "list", "cert-dir": "value", "config": "value",
                            "kubeconfig": "value", "dry-run": "bool", "skip-phases": "list"}, {"f": "force"})
    cert_dir = flags.get("cert-dir", "/etc/kubernetes/pki")
    if "config" in flags:
        docs = configapi.decode_all(read_config_file(flags.get("config")), ["ResetConfiguration"])
        reset = docs.get("ResetConfiguration") or {}
        cert_dir = reset.get("certificatesDir") or cert_dir
        if reset.get("force"):
            flags.values["force"] = True
    if not flags.get("force"):
        # Without -f kubeadm asks on stdin; a script has no one to answer.
        sys.stdout.write("[reset] Are you sure you want to proceed? [y/N]: ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise Failure("error execution phase preflight: won't proceed; the user didn't answer (Y|y) in order "
                          "to continue" + STACK_HINT)
    say("[preflight] Running pre-flight checks")
    hostname = common.node_name()
    name = node_name_from_kubelet_conf() or hostname.lower()
    was_control_plane = os.path.exists(common.root(f"{MANIFESTS}/etcd.yaml"))
    if was_control_plane:
        say("[reset] Removing info for node \"%s\" from the ConfigMap \"kubeadm-config\" in the \"kube-system\" "
            "Namespace" % name)
        with common.locked():
            state = cluster.load()
            if state:
                state.get("controlPlanes", {}).pop(name, None)
                members = state.get("etcd", {}).get("members", [])
                state["etcd"]["members"] = [m for m in members if m["name"] != name]
                if not state["etcd"]["members"]:
                    cluster.erase()  # the last etcd member's data is gone: so is the cluster
                else:
                    cluster.save(state)
    say("[reset] Stopping the kubelet service")
    run_program("systemctl", "stop", "kubelet")
    say("[reset] Unmounting mounted directories in \"/var/lib/kubelet\"")
    if was_control_plane:
        say("[reset] Deleting contents of the etcd data directory: /var/lib/etcd")
        shutil.rmtree(common.root("/var/lib/etcd"), ignore_errors=True)
    say(f"[reset] Deleting contents of directories: [{MANIFESTS} {KUBELET_DIR} {cert_dir}]")
    for directory in (MANIFESTS, KUBELET_DIR, cert_dir):
        path = common.root(directory)
        if os.path.isdir(path):
            for entry in os.listdir(path):
                full = os.path.join(path, entry)
                if os.path.isdir(full) and not os.path.islink(full):
                    shutil.rmtree(full, ignore_errors=True)
                else:
                    os.unlink(full)
    files = [f"{KUBERNETES}/{f}" for f in ("admin.conf", "super-admin.conf", "kubelet.conf",
                                           "bootstrap-kubelet.conf", "controller-manager.conf", "scheduler.conf")]
    say(f"[reset] Deleting files: [{' '.join(files)}]")
    for path in files:
        try:
            os.unlink(common.root(path))
        except FileNotFoundError:
            pass
    with common.locked():
        try:
            os.unlink(os.path.join(cluster.directory(), "kubelets", f"{hostname}.json"))
        except FileNotFoundError:
            pass
    say("\nThe reset process does not perform cleanup of CNI plugin configuration,\nnetwork filtering rules and kubeconfig "
        "files.\n\nFor information on how to perform this cleanup manually, please see:\n"
        "    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/\n")
    return 0


def node_name_from_kubelet_conf():
    path = common.root(f"{KUBERNETES}/kubelet.conf")
    try:
        with open(path) as f:
            config = yamlio.load(f.read())
        user = config["users"][0]["name"]
        return user.split("system:node:", 1)[1] if user.startswith("system:node:") else None
    except (OSError, KeyError, IndexError, TypeError, yamlio.YAMLError):
        return None


# --- config ---

def cmd_config(args):
    words = [a for a in args if not a.startswith("-")]
    sub = words[0] if words else ""
    if sub == "validate":
        flags = flags_of(args[args.index("validate") + 1:], {"config": "value", "allow-experimental-api": "bool"})
        if "config" not in flags:
            raise Failure("the --config flag is mandatory" + STACK_HINT)
        docs = configapi.decode_all(read_config_file(flags.get("config")), list(configapi.KINDS))
        errors = configapi.FieldErrors()
        if "InitConfiguration" in docs or "ClusterConfiguration" in docs:
            configapi.check_kubernetes_version((docs.get("ClusterConfiguration") or {}).get("kubernetesVersion"),
                                               KUBEADM_VERSION)
            errors.errors += configapi.validate_init(docs.get("InitConfiguration") or {}).errors
            configapi.validate_cluster(errors, docs.get("ClusterConfiguration") or {})
        if "JoinConfiguration" in docs:
            errors.errors += configapi.validate_join(docs["JoinConfiguration"]).errors
        if "KubeletConfiguration" in docs:
            errors.errors += configapi.validate_kubelet(docs["KubeletConfiguration"]).errors
        if "KubeProxyConfiguration" in docs:
            errors.errors += configapi.validate_proxy(docs["KubeProxyConfiguration"]).errors
        errors.raise_if_any()
        say("ok")
        return 0
    if sub == "images":
        rest = args[args.index("images") + 1:]
        words = [a for a in rest if not a.startswith("-")]
        if words[:1] != ["list"]:
            raise Failure('kubeadm stand-in: only "kubeadm config images list" is simulated' + STACK_HINT)
        flags = flags_of(rest[rest.index("list") + 1:], {"config": "value", "kubernetes-version": "value",
                                                          "image-repository": "value", "output": "value"},
                         {"o": "output"})
        cluster_config = {}
        if "config" in flags:
            docs = configapi.decode_all(read_config_file(flags.get("config")), list(configapi.KINDS))
            cluster_config = docs.get("ClusterConfiguration") or {}
        if "kubernetes-version" in flags:
            cluster_config["kubernetesVersion"] = flags.get("kubernetes-version")
        if "image-repository" in flags:
            cluster_config["imageRepository"] = flags.get("image-repository")
        version = configapi.check_kubernetes_version(cluster_config.get("kubernetesVersion"), KUBEADM_VERSION)
        for image in cluster.images(cluster_config, version):
            say(image)
        return 0
    raise Failure(f'kubeadm stand-in: "kubeadm config {sub}" is not simulated (validate, images list)' + STACK_HINT)


if __name__ == "__main__":
    sys.exit(main())
