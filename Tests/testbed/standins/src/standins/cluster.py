"""The simulated Kubernetes cluster every node of a testbed shares, under ``$SHARED/cluster``.

    cluster.json                  the control plane's own state (written by kubeadm):
                                  clusterName, endpoint, kubernetesVersion, caCert (PEM), caHash,
                                  tokens {id: {secret, expires, usages, groups, description, usedBy}},
                                  uploadedCerts {key, expires, files {relative path: PEM}},
                                  etcd {clusterID, members [{ID, name, peerURLs, clientURLs}]},
                                  controlPlanes {node: advertiseAddress:port}, certs {sha256: {cn, o}},
                                  clusterConfiguration, kubeletConfiguration
    objects/KIND[.GROUP]/NS/NAME.json   Kubernetes objects in their JSON shape (NS "_" for cluster scope)
    kubelets/HOST.json            each kubelet's report: what really runs on that machine (time, pid,
                                  node name, CNI config present, static pods and their phase)
    resource-version              counter for metadata.resourceVersion

Times are the simulated clock (common.now()). Writers hold common.locked(); every file is replaced
atomically, so readers need no lock. A kubelet report older than FRESH seconds means the machine or
its kubelet is gone: its Node turns NotReady (Unknown) and its static pods (apiserver, etcd) count as down.
"""

import base64
import datetime
import hashlib
import json
import os
import random
import re
import secrets
import subprocess
import tempfile
import time
import uuid

from . import common

VERSION = "v1.36.4"
FRESH = 10.0
HEARTBEAT = 2.0
CERT_KEY_TTL = 2 * 3600
DEFAULT_CRI_SOCKET = "unix:///var/run/containerd/containerd.sock"
CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
MIRROR = "kubernetes.io/config.mirror"

# kubeadm v1.36's image list (constants.go / `kubeadm config images list`); see artifacts.md.
PAUSE_TAG = "3.10.2"
ETCD_TAG = "3.6.8-0"
COREDNS_TAG = "v1.14.2"


def directory():
    return os.path.join(common.SHARED, "cluster")


def _path(*parts):
    return os.path.join(directory(), *parts)


def timestamp(when=None):
    moment = datetime.datetime.fromtimestamp(common.now() if when is None else when, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def age(text, now=None):
    """kubectl's AGE column."""
    seconds = max(0, int((common.now() if now is None else now) - parse_timestamp(text)))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 600:
        return f"{seconds // 60}m{seconds % 60}s" if seconds % 60 else f"{seconds // 60}m"
    if seconds < 3 * 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


# --- control plane state ---

def load():
    return common.read_json(_path("cluster.json"))


def save(state):
    common.write_json_atomically(_path("cluster.json"), state)


def erase():
    """Removes the whole simulated cluster (the last control plane was reset)."""
    import shutil
    shutil.rmtree(directory(), ignore_errors=True)


# --- Kubernetes objects ---

CLUSTER_SCOPED = {
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "APIService", "ValidatingWebhookConfiguration", "IngressClass",
    "MutatingWebhookConfiguration", "CSIDriver", "CSINode", "RuntimeClass", "VolumeAttachment",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest",
    "FlowSchema", "PriorityLevelConfiguration",
}


def group_of(api_version):
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def kind_key(kind, api_version):
    group = group_of(api_version)
    return f"{kind}.{group}" if group else kind


def _object_path(kind, api_version, namespace, name):
    return _path("objects", kind_key(kind, api_version), namespace or "_", f"{name}.json")


def get(kind, api_version, namespace, name):
    return common.read_json(_object_path(kind, api_version, namespace, name))


def list_objects(kind, api_version, namespace=None):
    base = _path("objects", kind_key(kind, api_version))
    found = []
    try:
        namespaces = sorted(os.listdir(base)) if namespace is None else [namespace or "_"]
    except FileNotFoundError:
        return []
    for space in namespaces:
        try:
            names = sorted(os.listdir(os.path.join(base, space)))
        except FileNotFoundError:
            continue
        for name in names:
            if name.endswith(".json"):
                item = common.read_json(os.path.join(base, space, name))
                if item is not None:
                    found.append(item)
    return found


def _next_resource_version():
    path = _path("resource-version")
    try:
        with open(path) as f:
            value = int(f.read().strip() or 0) + 1
    except FileNotFoundError:
        value = 1
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write(str(value))
    os.replace(path + ".tmp", path)
    return str(value)


def put(obj):
    """Stores ``obj`` (caller holds the lock), filling the metadata the API server owns."""
    metadata = obj.setdefault("metadata", {})
    if obj["kind"] == "Secret" and obj.get("apiVersion") == "v1" and "stringData" in obj:
        # The API server folds a Secret's write-only stringData into data (base64) and never stores it.
        data = obj.setdefault("data", {}) or {}
        for key, value in (obj.pop("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data
    previous = get(obj["kind"], obj["apiVersion"], metadata.get("namespace"), metadata["name"])
    if previous:
        metadata["uid"] = previous["metadata"]["uid"]
        metadata["creationTimestamp"] = previous["metadata"]["creationTimestamp"]
        generation = previous["metadata"].get("generation", 1)
        if previous.get("spec") != obj.get("spec"):
            generation += 1
        metadata["generation"] = generation
    else:
        metadata.setdefault("uid", str(uuid.uuid4()))
        metadata.setdefault("creationTimestamp", timestamp())
        metadata["generation"] = 1
    metadata["resourceVersion"] = _next_resource_version()
    common.write_json_atomically(_object_path(obj["kind"], obj["apiVersion"], metadata.get("namespace"),
                                              metadata["name"]), obj)
    return obj


def delete(kind, api_version, namespace, name):
    try:
        os.unlink(_object_path(kind, api_version, namespace, name))
        return True
    except FileNotFoundError:
        return False


# --- kubelet reports (what really runs on each machine) ---

def write_report(host, report):
    common.write_json_atomically(_path("kubelets", f"{host}.json"), report)


def reports():
    base = _path("kubelets")
    found = {}
    try:
        names = os.listdir(base)
    except FileNotFoundError:
        return found
    for name in names:
        if name.endswith(".json"):
            report = common.read_json(os.path.join(base, name))
            if report:
                found[name[:-5]] = report
    return found


def fresh(report, now=None):
    """A kubelet is alive when it reported within FRESH seconds of real time: the simulated clock offset
    says how much time has passed for certificates and tokens, and the kubelets kept running meanwhile."""
    return bool(report) and time.time() - report.get("wall", 0) <= FRESH


def _running(report, pod):
    return fresh(report) and report.get("staticPods", {}).get(pod) == "Running"


def api_status(state=None):
    """(True, "") when an API server runs somewhere and etcd has quorum, else (False, why)."""
    state = state if state is not None else load()
    if not state:
        return False, "no cluster"
    running = reports()
    by_node = {report.get("node"): report for report in running.values()}
    if not any(_running(report, "kube-apiserver") for report in running.values()):
        return False, "no kube-apiserver is running"
    members = state.get("etcd", {}).get("members", [])
    alive = [m for m in members if _running(by_node.get(m["name"]), "etcd")]
    if len(alive) < len(members) // 2 + 1:
        return False, f"etcd has no quorum ({len(alive)} of {len(members)} members up)"
    return True, ""


def report_for_node(name):
    for report in reports().values():
        if report.get("node") == name:
            return report
    return None


def node_view(node, report=None, now=None):
    """The Node as the API server shows it: conditions from its kubelet's last report (node lifecycle)."""
    now = common.now() if now is None else now
    report = report if report is not None else report_for_node(node["metadata"]["name"])
    view = json.loads(json.dumps(node))
    status = view.setdefault("status", {})
    heartbeat = timestamp(report["time"]) if report else node["metadata"]["creationTimestamp"]
    if report and fresh(report):
        if report.get("cni"):
            ready = ("True", "KubeletReady", "kubelet is posting ready status")
        else:
            ready = ("False", "KubeletNotReady", "container runtime network not ready: NetworkReady=false "
                     "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized")
        pressure = "False"
    else:
        ready = ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        pressure = "Unknown"
    conditions = []
    for kind, reason in (("MemoryPressure", "KubeletHasSufficientMemory"), ("DiskPressure", "KubeletHasNoDiskPressure"),
                         ("PIDPressure", "KubeletHasSufficientPID")):
        conditions.append({"type": kind, "status": pressure, "reason": reason if pressure == "False" else
                           "NodeStatusUnknown", "lastHeartbeatTime": heartbeat,
                           "lastTransitionTime": node["metadata"]["creationTimestamp"], "message": ""})
    conditions.append({"type": "Ready", "status": ready[0], "reason": ready[1], "message": ready[2],
                       "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat})
    status["conditions"] = conditions
    return view


def node_ready(node):
    for condition in node_view(node).get("status", {}).get("conditions", []):
        if condition["type"] == "Ready":
            return condition["status"] == "True"
    return False


# --- PKI: a real CA made with openssl, so the CA hash the stacks compute is the real one ---

def _openssl(*args, stdin=None):
    result = subprocess.run(["openssl", *args], input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")
    return result.stdout


def make_ca(cert_path, key_path, common_name, algorithm="RSA-2048"):
    os.makedirs(os.path.dirname(cert_path), exist_ok=True)
    if algorithm.startswith("RSA"):
        bits = algorithm.split("-")[1]
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}", "-out", key_path)
    else:
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key_path)
    _openssl("req", "-x509", "-new", "-key", key_path, "-subj", f"/CN={common_name}", "-days", "3650",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
             "-out", cert_path)
    os.chmod(key_path, 0o600)


def make_leaf(cert_path, key_path, ca_cert, ca_key, subject, sans=(), client=False):
    """A certificate signed by the CA. ECDSA P-256 whatever encryptionAlgorithm says: only the CA's key
    type is visible to the stacks (its hash), and RSA keys take long to make."""
    os.makedirs(os.path.dirname(cert_path), exist_ok=True)
    args = ["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key_path, "-out", cert_path, "-subj", subject, "-days", "365", "-CA", ca_cert,
            "-CAkey", ca_key, "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", f"extendedKeyUsage={'clientAuth' if client else 'serverAuth,clientAuth'}"]
    if sans:
        args += ["-addext", "subjectAltName=" + ",".join(sans)]
    _openssl(*args)
    os.chmod(key_path, 0o600)


def make_key_pair(private_path, public_path):
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", private_path)
    _openssl("pkey", "-in", private_path, "-pubout", "-out", public_path)
    os.chmod(private_path, 0o600)


def pem_body(pem):
    lines = [line for line in pem.strip().splitlines() if line and not line.startswith("-----")]
    return base64.b64decode("".join(lines))


def ca_hash(cert_pem):
    """sha256 of the CA's SubjectPublicKeyInfo (DER), as kubeadm's --discovery-token-ca-cert-hash."""
    public = _openssl("x509", "-pubkey", "-noout", stdin=cert_pem)
    return "sha256:" + hashlib.sha256(pem_body(public)).hexdigest()


def fingerprint(cert_pem):
    return hashlib.sha256(pem_body(cert_pem)).hexdigest()


def read_text(path):
    with open(path) as f:
        return f.read()


def b64(text):
    return base64.b64encode(text.encode()).decode()


def issue_client_config(state, pki, name, server, user, subject, identity, cluster_name):
    """A kubeconfig with a client certificate made now (recorded in state["certs"] as ``identity``)."""
    from . import yamlio
    with tempfile.TemporaryDirectory() as temporary:
        cert, key = os.path.join(temporary, "c.crt"), os.path.join(temporary, "c.key")
        make_leaf(cert, key, os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key"), subject, client=True)
        cert_pem, key_pem = read_text(cert), read_text(key)
    state.setdefault("certs", {})[fingerprint(cert_pem)] = identity
    context = f"{user}@{cluster_name}"
    config = {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"certificate-authority-data": b64(read_text(os.path.join(pki, "ca.crt"))),
                                  "server": server}, "name": cluster_name}],
        "contexts": [{"context": {"cluster": cluster_name, "user": user}, "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user, "user": {"client-certificate-data": b64(cert_pem),
                                          "client-key-data": b64(key_pem)}}],
    }
    write_file(name, yamlio.dump(config), 0o600)


def write_file(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as f:
        f.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


# --- bootstrap tokens, certificate keys, etcd ---

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def new_token():
    pick = secrets.choice
    return "".join(pick(TOKEN_CHARS) for _ in range(6)) + "." + "".join(pick(TOKEN_CHARS) for _ in range(16))


def add_token(state, token, ttl_seconds=24 * 3600, usages=None, groups=None, description=""):
    token_id, secret = token.split(".")
    state.setdefault("tokens", {})[token_id] = {
        "secret": secret,
        "expires": None if not ttl_seconds else common.now() + ttl_seconds,
        "usages": usages or ["signing", "authentication"],
        "groups": groups or ["system:bootstrappers:kubeadm:default-node-token"],
        "description": description,
        "usedBy": None,
    }


def expire_tokens(state):
    """The token cleaner deletes the Secrets of expired tokens."""
    now = common.now()
    tokens = state.get("tokens", {})
    for token_id in [t for t, v in tokens.items() if v["expires"] is not None and v["expires"] <= now]:
        del tokens[token_id]


def new_member_id(state):
    taken = {member["ID"] for member in state.get("etcd", {}).get("members", [])}
    while True:
        candidate = random.getrandbits(64)
        if candidate and candidate not in taken:
            return candidate


def images(cluster_config, version):
    """`kubeadm config images list` for this ClusterConfiguration."""
    repository = cluster_config.get("imageRepository") or "registry.k8s.io"
    custom = repository != "registry.k8s.io"
    found = [f"{repository}/{name}:{version}" for name in
             ("kube-apiserver", "kube-controller-manager", "kube-scheduler")]
    if not (cluster_config.get("proxy") or {}).get("disabled"):
        found.append(f"{repository}/kube-proxy:{version}")
    dns = cluster_config.get("dns") or {}
    if not dns.get("disabled"):
        dns_repository = dns.get("imageRepository") or (repository if custom else "registry.k8s.io/coredns")
        found.append(f"{dns_repository}/coredns:{dns.get('imageTag') or COREDNS_TAG}")
    found.append(f"{repository}/pause:{PAUSE_TAG}")
    local = (cluster_config.get("etcd") or {}).get("local") or {}
    found.append(f"{local.get('imageRepository') or repository}/etcd:{local.get('imageTag') or ETCD_TAG}")
    return found


def wait_until(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# --- label selectors, taints and tolerations (for DaemonSet placement) ---

def selector_matches(selector, labels):
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(expression, labels) for expression in selector.get("matchExpressions") or [])


def _expression_matches(expression, labels):
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


def tolerates(tolerations, taint):
    for toleration in tolerations or []:
        if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
            continue
        if toleration.get("operator") == "Exists":
            if not toleration.get("key") or toleration["key"] == taint.get("key"):
                return True
        elif toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", ""):
            return True
    return False


def schedulable_on(pod_spec, node):
    """A DaemonSet pod's placement on ``node``: nodeSelector, required node affinity and NoSchedule /
    NoExecute taints (the DaemonSet controller ignores spec.unschedulable, as the real one does)."""
    labels = node["metadata"].get("labels") or {}
    for key, value in (pod_spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if terms and not any(all(_expression_matches(e, labels) for e in term.get("matchExpressions") or [])
                         for term in terms):
        return False
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(pod_spec.get("tolerations"), taint):
            return False
    return True


def pod_suffix(*parts):
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    letters = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(letters[int(digest[i:i + 2], 16) % len(letters)] for i in range(0, 10, 2))


def dns_name(text):
    return re.sub(r"[^a-z0-9-]", "-", text.lower())


def b64decode(text):
    return base64.b64decode(text).decode()
