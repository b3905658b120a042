"""Tests of the kubeadm, kubelet and kubectl stand-ins, without a testbed.

Each simulated node is a set of folders (ISLET_STANDIN_ROOT for its files, ISLET_STANDIN_RUN for its
kernel/init state) and a name (ISLET_STANDIN_NODE); the cluster lives in the shared folder. The OS and
container-runtime programs the Kubernetes stand-ins call (swapon, lsmod, sysctl, crictl, systemctl) are
TEST FAKES written below into a folder put first on PATH: they answer from files the tests set, and the
fake systemctl really starts the kubelet stand-in as a background process, as the systemctl stand-in does.
Run: python3 -m unittest discover -s Tests/testbed/standins -p 'test_*.py'
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "src")
# the interpreter the zipapps name in their shebang, when present
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# --- test fakes (not the real OS / CRI stand-ins, which the lead integrates) ---

FAKE_SWAPON = """#!/bin/sh
# TEST FAKE swapon: swap is on when $ISLET_STANDIN_RUN/fake/swap exists (its content is the listing)
[ -f "$ISLET_STANDIN_RUN/fake/swap" ] && cat "$ISLET_STANDIN_RUN/fake/swap"
exit 0
"""
FAKE_LSMOD = """#!/bin/sh
# TEST FAKE lsmod: the modules listed in $ISLET_STANDIN_RUN/fake/modules
echo "Module                  Size  Used by"
while read -r module; do printf '%-24s16384  0\\n' "$module"; done < "$ISLET_STANDIN_RUN/fake/modules"
"""
FAKE_SYSCTL = """#!/bin/sh
# TEST FAKE sysctl: only -n KEY, answered from $ISLET_STANDIN_RUN/fake/sysctl/KEY
[ "$1" = "-n" ] || { echo "test fake sysctl: only -n KEY" >&2; exit 2; }
file="$ISLET_STANDIN_RUN/fake/sysctl/$2"
[ -f "$file" ] || { echo "sysctl: cannot stat /proc/sys/$2: No such file or directory" >&2; exit 255; }
cat "$file"
"""
FAKE_CRICTL = """#!/bin/sh
# TEST FAKE crictl: info fails when $ISLET_STANDIN_RUN/fake/cri-down exists; pull fails for an image
# listed in $ISLET_STANDIN_SHARED/fake-missing-images; every pull is logged.
[ "$1" = "--runtime-endpoint" ] && shift 2
if [ -f "$ISLET_STANDIN_RUN/fake/cri-down" ]; then
  echo "validate service connection: connection refused" >&2; exit 1
fi
case "$1" in
  info) echo '{"status":{"conditions":[]}}' ;;
  pull)
    echo "$2" >> "$ISLET_STANDIN_RUN/fake/pulled"
    if grep -qxF "$2" "$ISLET_STANDIN_SHARED/fake-missing-images" 2>/dev/null; then
      echo "pulling image: rpc error: code = NotFound desc = failed to pull and unpack image \\"$2\\": not found" >&2
      exit 1
    fi
    echo "Image is up to date for sha256:0000" ;;
  *) echo "test fake crictl: $1 not faked" >&2; exit 2 ;;
esac
"""
FAKE_SYSTEMCTL = """#!/bin/sh
# TEST FAKE systemctl: is-enabled answers from $ISLET_STANDIN_RUN/fake/kubelet-enabled; start/restart
# run the kubelet stand-in in the background with kubeadm's drop-in arguments; stop kills it.
fake="$ISLET_STANDIN_RUN/fake"
stop() {
  if [ -f "$fake/kubelet.pid" ]; then
    pid=$(cat "$fake/kubelet.pid")
    kill "$pid" 2>/dev/null
    # wait for the exit (an exited orphan may stay a zombie until its new parent reaps it)
    i=0
    while [ $i -lt 50 ]; do
      state=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) || break
      [ "$state" = Z ] && break
      sleep 0.05; i=$((i+1))
    done
    rm -f "$fake/kubelet.pid"
  fi
}
case "$1" in
  is-enabled) [ -f "$fake/kubelet-enabled" ] ;;
  stop) stop ;;
  start|restart)
    stop
    KUBELET_KUBEADM_ARGS=
    flags="$ISLET_STANDIN_ROOT/var/lib/kubelet/kubeadm-flags.env"
    # shellcheck disable=SC1090
    [ -f "$flags" ] && . "$flags"
    # shellcheck disable=SC2086
    "$TEST_PYTHON" -m standins.kubelet --bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf \\
      --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml $KUBELET_KUBEADM_ARGS \\
      >> "$fake/kubelet.log" 2>&1 &
    echo $! > "$fake/kubelet.pid" ;;
  *) echo "test fake systemctl: $1 not faked" >&2; exit 2 ;;
esac
"""

INIT_CONFIG = """apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
certificateKey: {key}
localAPIEndpoint:
  advertiseAddress: 127.0.0.{n}
  bindPort: 6443
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  imagePullPolicy: IfNotPresent
  kubeletExtraArgs:
  - name: node-ip
    value: 127.0.0.{n}
timeouts:
  kubeletHealthCheck: 20s
  controlPlaneComponentHealthCheck: 20s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.36.4
controlPlaneEndpoint: 127.0.0.{n}:6443
networking:
  podSubnet: 10.244.0.0/16
  serviceSubnet: 10.96.0.0/12
apiServer:
  extraArgs:
  - name: audit-log-maxage
    value: "7"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
"""

JOIN_CONFIG = """apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: {endpoint}
    token: {token}
    caCertHashes:
    - {hash}
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
  - name: node-ip
    value: 127.0.0.{n}
timeouts:
  kubeletHealthCheck: 20s
  tlsBootstrap: 20s
  controlPlaneComponentHealthCheck: 20s
{control_plane}"""

CNI_MANIFEST = """apiVersion: v1
kind: Namespace
metadata:
  name: kube-flannel
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
data:
  cni-conf.json: |
    {"name": "cbr0", "cniVersion": "0.3.1", "plugins": [{"type": "flannel"}, {"type": "portmap"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-flannel-ds
  namespace: kube-flannel
spec:
  selector:
    matchLabels:
      app: flannel
  template:
    metadata:
      labels:
        app: flannel
    spec:
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - key: kubernetes.io/os
                operator: In
                values: [linux]
      hostNetwork: true
      tolerations:
      - operator: Exists
        effect: NoSchedule
      initContainers:
      - name: install-cni
        image: ghcr.io/flannel-io/flannel:v0.28.9
        command: [cp]
        args: [-f, /etc/kube-flannel/cni-conf.json, /etc/cni/net.d/10-flannel.conflist]
        volumeMounts:
        - name: cni
          mountPath: /etc/cni/net.d
        - name: flannel-cfg
          mountPath: /etc/kube-flannel/
      containers:
      - name: kube-flannel
        image: ghcr.io/flannel-io/flannel:v0.28.9
        command: [/opt/bin/flanneld]
      volumes:
      - name: cni
        hostPath:
          path: /etc/cni/net.d
      - name: flannel-cfg
        configMap:
          name: kube-flannel-cfg
"""

INVALID_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replica: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
"""

CERT_KEY = "a" * 64


class Node:
    def __init__(self, base, shared, fakes, n):
        self.n = n
        self.name = f"node{n}"
        self.root = os.path.join(base, self.name, "root")
        self.run_dir = os.path.join(base, self.name, "run")
        self.fake = os.path.join(self.run_dir, "fake")
        os.makedirs(os.path.join(self.fake, "sysctl"))
        os.makedirs(os.path.join(self.root, "etc/kubernetes"))
        with open(os.path.join(self.fake, "modules"), "w") as f:
            f.write("overlay\nbr_netfilter\n")
        for key in ("net.bridge.bridge-nf-call-iptables", "net.ipv4.ip_forward"):
            self.set_sysctl(key, "1")
        open(os.path.join(self.fake, "kubelet-enabled"), "w").close()
        self.env = dict(os.environ, ISLET_STANDIN_SHARED=shared, ISLET_STANDIN_RUN=self.run_dir,
                        ISLET_STANDIN_NODE=self.name, ISLET_STANDIN_ROOT=self.root,
                        PATH=fakes + os.pathsep + os.environ["PATH"], PYTHONPATH=SRC, HOME="/root",
                        TEST_PYTHON=PYTHON)
        self.env.pop("KUBECONFIG", None)

    def set_sysctl(self, key, value):
        with open(os.path.join(self.fake, "sysctl", key), "w") as f:
            f.write(value + "\n")

    def path(self, path):
        return self.root + path

    def write(self, path, text):
        os.makedirs(os.path.dirname(self.path(path)), exist_ok=True)
        with open(self.path(path), "w") as f:
            f.write(text)

    def run(self, program, *args, stdin=None):
        result = subprocess.run([PYTHON, "-m", f"standins.{program}", *args], env=self.env,
                                capture_output=True, text=True, input=stdin, timeout=60)
        return result

    def ok(self, program, *args, stdin=None):
        result = self.run(program, *args, stdin=stdin)
        if result.returncode != 0:
            raise AssertionError(f"{self.name}: {program} {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}\n--- kubelet log:\n{self.kubelet_log()}")
        return result.stdout

    def kubectl(self, *args):
        return self.ok("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", *args)

    def kubelet_log(self):
        try:
            with open(os.path.join(self.fake, "kubelet.log")) as f:
                return f.read()[-3000:]
        except FileNotFoundError:
            return ""

    def stop_kubelet(self):
        try:
            with open(os.path.join(self.fake, "kubelet.pid")) as f:
                pid = int(f.read())
            os.kill(pid, signal.SIGTERM)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass


class Testbed:
    """Temporary shared folder, test fakes on PATH and nodes."""

    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="islet-k8s-standins-")
        self.shared = os.path.join(self.base, "shared")
        self.fakes = os.path.join(self.base, "test-fakes")
        os.makedirs(self.fakes)
        for name, text in (("swapon", FAKE_SWAPON), ("lsmod", FAKE_LSMOD), ("sysctl", FAKE_SYSCTL),
                           ("crictl", FAKE_CRICTL), ("systemctl", FAKE_SYSTEMCTL)):
            path = os.path.join(self.fakes, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        self.nodes = {}

    def node(self, n):
        if n not in self.nodes:
            self.nodes[n] = Node(self.base, self.shared, self.fakes, n)
        return self.nodes[n]

    def set_clock_offset(self, seconds):
        os.makedirs(os.path.join(self.shared, "standins"), exist_ok=True)
        with open(os.path.join(self.shared, "standins", "clock-offset"), "w") as f:
            f.write(str(seconds))

    def missing_images(self, *images):
        os.makedirs(self.shared, exist_ok=True)
        with open(os.path.join(self.shared, "fake-missing-images"), "w") as f:
            f.write("".join(image + "\n" for image in images))

    def close(self):
        for node in self.nodes.values():
            node.stop_kubelet()
        time.sleep(0.2)
        shutil.rmtree(self.base, ignore_errors=True)

    def calls(self, program):
        try:
            with open(os.path.join(self.shared, "standins", "calls.jsonl")) as f:
                return [json.loads(line) for line in f if json.loads(line)["program"] == program]
        except FileNotFoundError:
            return []


def wait_for(predicate, timeout=15.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class ConfigValidation(unittest.TestCase):
    """kubeadm config validate: strict decoding and kubeadm's field checks."""

    @classmethod
    def setUpClass(cls):
        cls.bed = Testbed()
        cls.node = cls.bed.node(1)

    @classmethod
    def tearDownClass(cls):
        cls.bed.close()

    def validate(self, text):
        self.node.write("/etc/kubernetes/kubeadm.yaml", text)
        return self.node.run("kubeadm", "config", "validate", "--config", "/etc/kubernetes/kubeadm.yaml")

    def refused(self, text, *fragments):
        result = self.validate(text)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)

    def test_valid_init_configuration_is_ok(self):
        result = self.validate(INIT_CONFIG.format(key=CERT_KEY, n=1))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "ok")

    def test_unknown_field_is_refused_with_its_path(self):
        self.refused(INIT_CONFIG.format(key=CERT_KEY, n=1).replace("  imagePullPolicy", "  imagePulPolicy"),
                     'strict decoding error: unknown field "nodeRegistration.imagePulPolicy"',
                     'Kind:"InitConfiguration"')

    def test_unknown_kubelet_field_is_refused(self):
        self.refused(INIT_CONFIG.format(key=CERT_KEY, n=1) + "cgroupDrive: systemd\n",
                     'unknown field "cgroupDrive"', 'Kind:"KubeletConfiguration"')

    def test_unknown_kind_and_old_api_are_refused(self):
        self.refused("apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfig\n", 'no kind "InitConfig"')
        self.refused("apiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\n", "old API spec")
        self.refused("apiVersion: example.com/v1\nkind: Thing\n", 'no kind "Thing"')

    def test_extra_args_must_be_a_list_of_name_value(self):
        text = INIT_CONFIG.format(key=CERT_KEY, n=1).replace(
            '  extraArgs:\n  - name: audit-log-maxage\n    value: "7"', '  extraArgs:\n    audit-log-maxage: "7"')
        self.refused(text, "cannot unmarshal object into Go struct field", "apiServer.extraArgs", "[]Arg")

    def test_kubernetes_version_is_required_and_checked(self):
        text = INIT_CONFIG.format(key=CERT_KEY, n=1).replace("kubernetesVersion: v1.36.4\n", "")
        self.refused(text, "dl.k8s.io")
        self.refused(text.replace("kind: ClusterConfiguration\n", "kind: ClusterConfiguration\nkubernetesVersion: 1.30.0\n"),
                     "only supports deploying clusters with the control plane version >= 1.35.0")
        self.refused(text.replace("kind: ClusterConfiguration\n", "kind: ClusterConfiguration\nkubernetesVersion: stable\n"),
                     "dl.k8s.io/release/stable.txt")

    def test_bad_values_are_refused(self):
        text = INIT_CONFIG.format(key="xyz", n=1).replace("10.244.0.0/16", "10.96.0.0/16")
        self.refused(text, "certificateKey", "overlaps with serviceSubnet")

    def test_join_needs_discovery_and_ca_pinning(self):
        self.refused("apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n", "discovery")
        base = JOIN_CONFIG.format(endpoint="127.0.0.1:6443", token="abcdef.0123456789abcdef",
                                  hash="sha256:" + "0" * 64, n=2, control_plane="")
        self.assertEqual(self.validate(base).returncode, 0)
        no_hash = base.replace("    caCertHashes:\n    - sha256:" + "0" * 64 + "\n", "")
        self.refused(no_hash, "caCertHashes", "unsafeSkipCAVerification")
        skip = no_hash.replace("    token:", "    unsafeSkipCAVerification: true\n    token:")
        self.assertEqual(self.validate(skip).returncode, 0)
        self.refused(base.replace("abcdef.0123456789abcdef", "bad-token"), 'the bootstrap token "bad-token"')
        self.refused(base.replace("    apiServerEndpoint: 127.0.0.1:6443\n", ""),
                     "discovery.bootstrapToken.apiServerEndpoint: Required value")

    def test_kube_proxy_mode_is_checked(self):
        self.refused(INIT_CONFIG.format(key=CERT_KEY, n=1) +
                     "---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: userspace\n",
                     'mode: Unsupported value: "userspace"')

    def test_version_and_certificate_key(self):
        self.assertEqual(self.node.ok("kubeadm", "version", "-o", "short").strip(), "v1.36.4")
        key = self.node.ok("kubeadm", "certs", "certificate-key").strip()
        self.assertRegex(key, r"^[0-9a-f]{64}$")
        result = self.node.run("kubeadm", "init", "--bogus")
        self.assertEqual(result.returncode, 1)
        self.assertIn("unknown flag: --bogus", result.stderr)


class Preflight(unittest.TestCase):
    """kubeadm init's preflight, through the node's programs; each failure stops init before any file."""

    def setUp(self):
        self.bed = Testbed()
        self.node = self.bed.node(1)
        self.node.write("/etc/kubernetes/kubeadm.yaml", INIT_CONFIG.format(key=CERT_KEY, n=1))

    def tearDown(self):
        self.bed.close()

    def init(self):
        result = self.node.run("kubeadm", "init", "--config", "/etc/kubernetes/kubeadm.yaml", "--upload-certs")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertFalse(os.path.exists(self.node.path("/etc/kubernetes/admin.conf")))
        return result.stderr

    def test_swap_on_is_an_error(self):
        with open(os.path.join(self.node.fake, "swap"), "w") as f:
            f.write("/swap.img file 2G 0B -2\n")
        self.assertIn("[ERROR Swap]: running with swap on is not supported", self.init())

    def test_missing_modules_and_sysctls_are_errors(self):
        with open(os.path.join(self.node.fake, "modules"), "w") as f:
            f.write("overlay\n")
        os.unlink(os.path.join(self.node.fake, "sysctl", "net.bridge.bridge-nf-call-iptables"))
        self.node.set_sysctl("net.ipv4.ip_forward", "0")
        errors = self.init()
        self.assertIn("the kernel module br_netfilter is not loaded", errors)
        self.assertIn("[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: "
                      "/proc/sys/net/bridge/bridge-nf-call-iptables does not exist", errors)
        self.assertIn("/proc/sys/net/ipv4/ip_forward contents are not set to 1", errors)

    def test_runtime_down_is_an_error_and_kubelet_not_enabled_a_warning(self):
        open(os.path.join(self.node.fake, "cri-down"), "w").close()
        os.unlink(os.path.join(self.node.fake, "kubelet-enabled"))
        errors = self.init()
        self.assertIn("[ERROR CRI]", errors)
        self.assertIn("[WARNING Service-Kubelet]: kubelet service is not enabled", errors)

    def test_failed_image_pull_is_an_error(self):
        self.bed.missing_images("registry.k8s.io/etcd:3.6.8-0")
        errors = self.init()
        self.assertIn("[ERROR ImagePull]: failed to pull image registry.k8s.io/etcd:3.6.8-0", errors)
        with open(os.path.join(self.node.fake, "pulled")) as f:
            pulled = f.read().split()
        self.assertIn("registry.k8s.io/kube-apiserver:v1.36.4", pulled)
        self.assertIn("registry.k8s.io/coredns/coredns:v1.14.2", pulled)
        self.assertIn("registry.k8s.io/pause:3.10.2", pulled)

    def test_existing_manifest_is_an_error_unless_ignored(self):
        self.node.write("/etc/kubernetes/manifests/kube-apiserver.yaml", "x")
        self.assertIn("[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: "
                      "/etc/kubernetes/manifests/kube-apiserver.yaml already exists", self.init())

    def test_kubelet_without_config_crash_loops(self):
        result = self.node.run("kubelet", "--kubeconfig=/etc/kubernetes/kubelet.conf",
                               "--config=/var/lib/kubelet/config.yaml")
        self.assertEqual(result.returncode, 1)
        self.assertIn("failed to load kubelet config file, path: /var/lib/kubelet/config.yaml", result.stderr)
        result = self.node.run("kubelet", "--no-such-flag")
        self.assertEqual(result.returncode, 1)
        self.assertIn("unknown flag: --no-such-flag", result.stderr)
        self.assertEqual(self.node.ok("kubelet", "--version").strip(), "Kubernetes v1.36.4")


class Lifecycle(unittest.TestCase):
    """One cluster through init, joins, CNI, node identity, drain/delete/reset, as the stacks drive it."""

    @classmethod
    def setUpClass(cls):
        cls.bed = Testbed()
        cls.cp = cls.bed.node(1)
        cls.cp.write("/etc/kubernetes/kubeadm.yaml", INIT_CONFIG.format(key=CERT_KEY, n=1))
        cls.init_output = cls.cp.ok("kubeadm", "init", "--config", "/etc/kubernetes/kubeadm.yaml", "--upload-certs")

    @classmethod
    def tearDownClass(cls):
        cls.bed.close()

    def join_config(self, node, token, ca_hash=None, control_plane=""):
        ca_hash = ca_hash or self.ca_hash()
        node.write("/etc/kubernetes/kubeadm-join.yaml",
                   JOIN_CONFIG.format(endpoint="127.0.0.1:6443", token=token, hash=ca_hash, n=node.n,
                                      control_plane=control_plane))

    def ca_hash(self):
        pipeline = (f"openssl x509 -pubkey -in {self.cp.path('/etc/kubernetes/pki/ca.crt')} | openssl rsa -pubin "
                    "-outform der 2>/dev/null | openssl dgst -sha256 -hex")
        return "sha256:" + subprocess.run(pipeline, shell=True, capture_output=True, text=True,
                                          check=True).stdout.split()[-1]

    def new_token(self):
        line = self.cp.ok("kubeadm", "token", "create", "--ttl", "15m0s", "--print-join-command")
        self.assertRegex(line, r"^kubeadm join 127\.0\.0\.1:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} "
                               r"--discovery-token-ca-cert-hash sha256:[0-9a-f]{64} \n$")
        self.assertIn(self.ca_hash(), line)
        return line.split("--token ")[1].split()[0]

    def nodes(self):
        return {n["metadata"]["name"]: n for n in json.loads(self.cp.kubectl("get", "nodes", "-o", "json"))["items"]}

    def ready(self, name):
        return self.cp.kubectl("get", "node", name, "-o",
                               'jsonpath={.status.conditions[?(@.type=="Ready")].status}').strip()

    def test_1_init_wrote_what_kubeadm_writes(self):
        for path in ("admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf",
                     "pki/ca.crt", "pki/ca.key", "pki/sa.key", "pki/etcd/ca.crt", "pki/apiserver.crt",
                     "manifests/kube-apiserver.yaml", "manifests/etcd.yaml", "manifests/kube-scheduler.yaml",
                     "manifests/kube-controller-manager.yaml"):
            self.assertTrue(os.path.exists(self.cp.path("/etc/kubernetes/" + path)), path)
        for path in ("config.yaml", "kubeadm-flags.env"):
            self.assertTrue(os.path.exists(self.cp.path("/var/lib/kubelet/" + path)), path)
        with open(self.cp.path("/var/lib/kubelet/kubeadm-flags.env")) as f:
            self.assertEqual(f.read(), 'KUBELET_KUBEADM_ARGS="--node-ip=127.0.0.1"\n')
        with open(self.cp.path("/etc/kubernetes/manifests/kube-apiserver.yaml")) as f:
            manifest = f.read()
        self.assertIn("--audit-log-maxage=7", manifest)
        self.assertIn("image: registry.k8s.io/kube-apiserver:v1.36.4", manifest)
        self.assertIn("Your Kubernetes control-plane has initialized successfully!", self.init_output)
        self.assertIn(f"--control-plane --certificate-key {CERT_KEY}", self.init_output)
        self.assertIn(self.ca_hash(), self.init_output)
        self.assertEqual(self.cp.kubectl("get", "--raw=/readyz").strip(), "ok")
        with open(self.cp.path("/etc/kubernetes/admin.conf")) as f:
            self.assertIn("server: https://127.0.0.1:6443", f.read())

    def test_2_control_plane_node_and_mirror_pods(self):
        node = self.nodes()["node1"]
        self.assertIn("node-role.kubernetes.io/control-plane", node["metadata"]["labels"])
        self.assertEqual(node["spec"]["taints"], [{"key": "node-role.kubernetes.io/control-plane",
                                                   "effect": "NoSchedule"}])
        self.assertEqual(node["spec"]["podCIDR"], "10.244.0.0/24")
        self.assertEqual(self.ready("node1"), "False")  # no CNI config yet
        pods = json.loads(self.cp.kubectl("-n", "kube-system", "get", "pods", "-o", "json"))["items"]
        names = {p["metadata"]["name"]: p["status"]["phase"] for p in pods}
        self.assertEqual(names.get("kube-apiserver-node1"), "Running")
        self.assertEqual(names.get("etcd-node1"), "Running")
        table = self.cp.kubectl("get", "nodes")
        self.assertRegex(table, r"node1\s+NotReady\s+control-plane\s+\S+\s+v1\.36\.4")

    def test_3_worker_join_token_rules_and_ready(self):
        worker = self.bed.node(2)
        token = self.new_token()
        self.join_config(worker, token, ca_hash="sha256:" + "1" * 64)
        result = worker.run("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
        self.assertEqual(result.returncode, 1)
        self.assertIn("none of the public keys", result.stderr)
        self.join_config(worker, "zzzzzz.0123456789abcdef")
        result = worker.run("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
        self.assertIn('could not find a JWS signature in the cluster-info ConfigMap for token ID "zzzzzz"',
                      result.stderr)
        self.join_config(worker, token)
        output = worker.ok("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
        self.assertIn("This node has joined the cluster", output)
        self.assertIn("node2", self.nodes())
        # the same token once more, from another machine: refused (stand-in rule: single-use tokens)
        other = self.bed.node(4)
        self.join_config(other, token)
        result = other.run("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
        self.assertEqual(result.returncode, 1)
        self.assertIn('was already used to join node "node2"', result.stderr)
        # an expired token (the simulated clock moves 20 minutes past a 15 minute ttl)
        token = self.new_token()
        self.bed.set_clock_offset(20 * 60)
        try:
            self.join_config(other, token)
            result = other.run("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
            self.assertEqual(result.returncode, 1)
            self.assertIn("could not find a JWS signature", result.stderr)
        finally:
            self.bed.set_clock_offset(0)
        # CNI config on the worker: Ready after a heartbeat
        worker.write("/etc/cni/net.d/10-test.conflist", '{"name": "test", "plugins": []}')
        self.assertIn("node/node2 condition met",
                      self.cp.kubectl("wait", "--for=condition=Ready", "node/node2", "--timeout=10s"))
        self.assertEqual(self.ready("node2"), "True")
        # a Ready node of that name exists: a second join with the name is refused
        token = self.new_token()
        self.join_config(other, token)
        with open(other.path("/etc/kubernetes/kubeadm-join.yaml")) as f:
            text = f.read().replace("nodeRegistration:\n", "nodeRegistration:\n  name: node2\n")
        other.write("/etc/kubernetes/kubeadm-join.yaml", text)
        result = other.run("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
        self.assertIn('a Node with name "node2" and status "Ready" already exists', result.stderr)

    def test_4_node_identity_reads_only_its_own_node(self):
        worker = self.bed.node(2)
        own = worker.ok("kubectl", "--kubeconfig", "/etc/kubernetes/kubelet.conf", "get", "node", "node2", "-o",
                        "jsonpath={.metadata.name}")
        self.assertEqual(own, "node2")
        result = worker.run("kubectl", "--kubeconfig", "/etc/kubernetes/kubelet.conf", "get", "node", "node1")
        self.assertEqual(result.returncode, 1)
        self.assertIn('User "system:node:node2" cannot get resource "nodes"', result.stderr)
        result = worker.run("kubectl", "--kubeconfig", "/etc/kubernetes/kubelet.conf", "delete", "node", "node1")
        self.assertIn("Forbidden", result.stderr)
        # a kubeconfig naming another CA is not trusted
        with open(self.cp.path("/etc/kubernetes/admin.conf")) as f:
            admin = f.read()
        with open(self.cp.path("/etc/kubernetes/pki/front-proxy-ca.crt"), "rb") as f:
            other_ca = base64.b64encode(f.read()).decode()
        ca = admin.split("certificate-authority-data: ")[1].split()[0]
        self.cp.write("/root/other.conf", admin.replace(ca, other_ca))
        result = self.cp.run("kubectl", "--kubeconfig", "/root/other.conf", "get", "nodes")
        self.assertIn("x509: certificate signed by unknown authority", result.stderr)
        result = self.cp.run("kubectl", "--kubeconfig", "/root/missing.conf", "get", "nodes")
        self.assertIn("stat /root/missing.conf: no such file or directory", result.stderr)

    def test_4b_join_flags_and_mixing(self):
        node = self.bed.node(6)
        result = node.run("kubeadm", "join", "127.0.0.1:6443", "--token", "abcdef.0123456789abcdef")
        self.assertEqual(result.returncode, 1)
        self.assertIn("using token-based discovery without caCertHashes can be unsafe", result.stderr)
        result = self.cp.run("kubeadm", "init", "--config", "/etc/kubernetes/kubeadm.yaml", "--certificate-key",
                             CERT_KEY)
        self.assertIn("can not mix '--config' with arguments [certificate-key]", result.stderr)

    def test_5_control_plane_join_needs_the_uploaded_key(self):
        node = self.bed.node(3)
        plane = "controlPlane:\n  certificateKey: {}\n  localAPIEndpoint:\n    advertiseAddress: 127.0.0.3\n"
        self.join_config(node, self.new_token(), control_plane=plane.format("b" * 64))
        result = node.run("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
        self.assertEqual(result.returncode, 1)
        self.assertIn("message authentication failed", result.stderr)
        self.assertFalse(os.path.exists(node.path("/etc/kubernetes/manifests/etcd.yaml")))
        key = self.cp.ok("kubeadm", "init", "phase", "upload-certs", "--upload-certs").strip().splitlines()[-1]
        self.assertRegex(key, r"^[0-9a-f]{64}$")
        self.join_config(node, self.new_token(), control_plane=plane.format(CERT_KEY))
        result = node.run("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
        self.assertIn("message authentication failed", result.stderr)  # replaced by the new upload
        self.join_config(node, self.new_token(), control_plane=plane.format(key))
        output = node.ok("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
        self.assertIn("a new control plane instance was created", output)
        with open(node.path("/etc/kubernetes/pki/ca.crt")) as f, open(self.cp.path("/etc/kubernetes/pki/ca.crt")) as g:
            self.assertEqual(f.read(), g.read())
        members = json.loads(self.cp.kubectl(
            "exec", "-n", "kube-system", "etcd-node1", "--", "etcdctl", "--endpoints=https://127.0.0.1:2379",
            "--cacert=/etc/kubernetes/pki/etcd/ca.crt", "--cert=/etc/kubernetes/pki/etcd/server.crt",
            "--key=/etc/kubernetes/pki/etcd/server.key", "member", "list", "-w", "json"))
        self.assertEqual(sorted(m["name"] for m in members["members"]), ["node1", "node3"])
        self.assertIsInstance(members["header"]["cluster_id"], int)
        self.assertIn("node-role.kubernetes.io/control-plane", self.nodes()["node3"]["metadata"]["labels"])
        # the uploaded certificates expire after two hours
        self.bed.set_clock_offset(2 * 3600 + 60)
        try:
            other = self.bed.node(5)
            self.join_config(other, self.new_token(), control_plane=plane.format(key).replace("127.0.0.3",
                                                                                             "127.0.0.5"))
            result = other.run("kubeadm", "join", "--config", "/etc/kubernetes/kubeadm-join.yaml")
            self.assertIn('Secret "kubeadm-certs" was not found', result.stderr)
        finally:
            self.bed.set_clock_offset(0)

    def test_6_cni_daemonset_makes_nodes_ready(self):
        self.cp.write("/root/flannel.yml", CNI_MANIFEST)
        output = self.cp.kubectl("apply", "-f", "/root/flannel.yml")
        self.assertIn("namespace/kube-flannel created", output)
        self.assertIn("daemonset.apps/kube-flannel-ds created", output)
        self.assertIn("successfully rolled out", self.cp.kubectl(
            "rollout", "status", "ds/kube-flannel-ds", "-n", "kube-flannel", "--timeout=20s"))
        with open(self.cp.path("/etc/cni/net.d/10-flannel.conflist")) as f:
            self.assertIn('"type": "flannel"', f.read())
        self.cp.kubectl("wait", "--for=condition=Ready", "node/node1", "--timeout=10s")
        names = self.cp.kubectl("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").split()
        self.assertIn("node1", names)
        again = self.cp.kubectl("apply", "-f", "/root/flannel.yml")
        self.assertIn("daemonset.apps/kube-flannel-ds unchanged", again)

    def test_7_apply_refuses_invalid_objects(self):
        self.cp.write("/root/bad.yaml", INVALID_DEPLOYMENT)
        result = self.cp.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "-f", "/root/bad.yaml")
        self.assertEqual(result.returncode, 1)
        self.assertIn('error validating "/root/bad.yaml"', result.stderr)
        self.assertIn("replica", result.stderr)
        self.cp.write("/root/ns.yaml", INVALID_DEPLOYMENT.replace("  replica: 2\n", "  replicas: 2\n")
                      .replace("namespace: default", "namespace: missing"))
        result = self.cp.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "-f", "/root/ns.yaml")
        self.assertIn('namespaces "missing" not found', result.stderr)
        self.cp.write("/root/crd.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n"
                      "  name: x\n  namespace: default\n")
        result = self.cp.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "apply", "-f", "/root/crd.yaml")
        self.assertIn('no matches for kind "Application" in version "argoproj.io/v1alpha1"', result.stderr)
        result = self.cp.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "get", "nodes", "-o",
                             "jsonpath={range .items[*]}{.metadata.name}{end}")
        self.assertIn("not supported", result.stderr)

    def test_8_drain_delete_and_reset_a_worker(self):
        worker = self.bed.node(2)
        output = self.cp.kubectl("drain", "node2", "--ignore-daemonsets", "--delete-emptydir-data", "--force",
                                 "--timeout=120s")
        self.assertIn("node/node2 cordoned", output)
        self.assertIn("node/node2 drained", output)
        self.assertRegex(self.cp.kubectl("get", "nodes"), r"node2\s+Ready,SchedulingDisabled")
        self.assertIn('node "node2" deleted', self.cp.kubectl("delete", "node", "node2"))
        self.cp.kubectl("delete", "node", "node2", "--ignore-not-found")
        time.sleep(0.8)  # a few kubelet loops: the running kubelet does not register the Node again
        self.assertNotIn("node2", self.nodes())
        worker.ok("kubeadm", "reset", "-f")
        for path in ("/etc/kubernetes/kubelet.conf", "/var/lib/kubelet/config.yaml", "/etc/kubernetes/pki/ca.crt"):
            self.assertFalse(os.path.exists(worker.path(path)), path)
        self.assertFalse(os.path.exists(os.path.join(worker.fake, "kubelet.pid")))

    def test_9_reset_control_plane_removes_its_etcd_member(self):
        node = self.bed.node(3)
        node.ok("kubeadm", "reset", "-f")
        self.assertFalse(os.path.exists(node.path("/etc/kubernetes/manifests/etcd.yaml")))
        members = json.loads(self.cp.kubectl(
            "exec", "-n", "kube-system", "etcd-node1", "--", "etcdctl", "--cacert=/etc/kubernetes/pki/etcd/ca.crt",
            "--cert=/etc/kubernetes/pki/etcd/server.crt", "--key=/etc/kubernetes/pki/etcd/server.key", "member",
            "list", "-w", "json"))["members"]
        self.assertEqual([m["name"] for m in members], ["node1"])
        self.assertIn("node3", self.nodes())  # reset does not delete the Node object
        self.assertEqual(self.cp.ok("kubectl", "version", "--client").splitlines()[0], "Client Version: v1.36.4")
        self.assertTrue(self.bed.calls("kubeadm"))


if __name__ == "__main__":
    unittest.main()
