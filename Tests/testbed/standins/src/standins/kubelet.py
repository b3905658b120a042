"""kubelet stand-in: the node agent, run by systemctl from the kubelet unit and kubeadm's drop-in.

It is strict where the real kubelet is: unknown flags, a missing or invalid --config file, swap on
(failSwapOn), no bootstrap/kubeconfig, a container runtime that does not answer: each exits 1, so
systemd restarts it (crash loop until kubeadm init/join, like real).

Running, it stands in for what really runs on the machine and reports it to the simulated cluster
every HEARTBEAT seconds (cluster.py kubelets/HOST.json): static pods from staticPodPath, whose images
it pulls through `crictl pull` (the control plane is up only when its images pulled), the CNI config in
/etc/cni/net.d (the node is Ready only with one). With a kubeconfig and a reachable API server it
registers its Node once per process (a Node deleted or cordoned later is left so, as real), keeps mirror
pods of its static pods and runs the DaemonSet pods placed on its node (Running once their images
pulled; an init container that copies a ConfigMap file into a hostPath, like flannel's install-cni,
is carried out for real), and the Deployment and StatefulSet pods the scheduler bound to its node, after
running the controllers' and scheduler's pass of workloads.py.
"""

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time

from . import cli, cluster, common, configapi, workloads, yamlio
from .cli import Failure

LOOP = 0.5
PULL_BACKOFF = 5.0
CNI_DIR = "/etc/cni/net.d"
GENERATION = "deprecated.daemonset.template.generation"

FLAGS = {name: "value" for name in (
    "config", "kubeconfig", "bootstrap-kubeconfig", "hostname-override", "node-ip", "container-runtime-endpoint",
    "image-service-endpoint", "v", "node-labels", "register-with-taints", "cgroup-driver", "root-dir", "cert-dir",
    "runtime-request-timeout", "pod-manifest-path", "cluster-dns", "cluster-domain", "max-pods", "provider-id",
    "resolv-conf", "eviction-hard", "eviction-soft", "kube-reserved", "system-reserved", "feature-gates",
    "address", "port", "healthz-port", "healthz-bind-address", "read-only-port", "node-status-update-frequency",
    "cloud-provider", "image-credential-provider-config", "image-credential-provider-bin-dir", "lock-file",
    "tls-cert-file", "tls-private-key-file", "volume-plugin-dir", "vmodule", "logging-format",
    "cpu-manager-policy", "topology-manager-policy", "kube-api-qps", "kube-api-burst", "enforce-node-allocatable",
    "streaming-connection-idle-timeout", "allowed-unsafe-sysctls", "node-status-max-images", "pod-max-pids",
    "max-open-files", "cgroup-root", "runtime-cgroups", "kubelet-cgroups", "system-cgroups", "authorization-mode",
    "client-ca-file", "event-qps", "event-burst", "registry-qps", "registry-burst", "image-gc-high-threshold",
    "image-gc-low-threshold", "minimum-image-ttl-duration", "container-log-max-size", "container-log-max-files",
    "shutdown-grace-period", "shutdown-grace-period-critical-pods", "hairpin-mode", "oom-score-adj", "pod-cidr",
    "sync-frequency", "file-check-frequency", "http-check-frequency", "manifest-url", "manifest-url-header",
    "tls-cipher-suites", "tls-min-version", "housekeeping-interval", "kube-reserved-cgroup",
    "system-reserved-cgroup", "reserved-cpus", "log-flush-frequency", "pods-per-core", "seccomp-default")}
FLAGS.update({name: "bool" for name in (
    "version", "help", "fail-swap-on", "rotate-certificates", "exit-on-lock-contention", "serialize-image-pulls",
    "protect-kernel-defaults", "make-iptables-util-chains", "cgroups-per-qos", "authentication-token-webhook",
    "anonymous-auth", "local-storage-capacity-isolation", "register-node", "enable-server",
    "enable-debugging-handlers", "runonce", "register-schedulable", "rotate-server-certificates")})


def log(level, message, **values):
    moment = time.strftime("%m%d %H:%M:%S", time.localtime())
    extra = "".join(f' {key}="{value}"' for key, value in values.items())
    print(f'{level}{moment}.000000 {os.getpid():>7} kubelet.go:1] "{message}"{extra}', file=sys.stderr, flush=True)


def main():
    return common.run("kubelet", body)


def body(args):
    try:
        flags = cli.parse(args, FLAGS, {"v": "v", "h": "help"})
    except Failure as failure:
        print(f"Error: failed to parse kubelet flag: {failure.message}", file=sys.stderr)
        return 1
    if flags.get("version"):
        print(f"Kubernetes {cluster.VERSION}")
        return 0
    if flags.get("help"):
        print("The kubelet is the primary \"node agent\" that runs on each node.")
        return 0
    if flags.positional:
        print(f"E... \"command failed\" err=\"unknown command {flags.positional[0]}\"", file=sys.stderr)
        return 1
    try:
        agent = Kubelet(flags)
    except Failure as failure:
        log("E", "command failed", err=failure.message)
        return 1
    return agent.run()


class Kubelet:
    def __init__(self, flags):
        # DaemonSet pods this process has started: {(namespace, name): generation}.
        self.running_here = {}
        # Deployment and StatefulSet pods this process runs: {(namespace, name, uid)}.
        self.workloads_here = set()
        self.flags = flags
        self.config = self._load_config(flags.get("config"))
        self.hostname = common.node_name()
        self.node_name = (flags.get("hostname-override") or self.hostname).lower()
        self.runtime = (flags.get("container-runtime-endpoint") or self.config.get("containerRuntimeEndpoint")
                        or cluster.DEFAULT_CRI_SOCKET)
        self.kubeconfig = flags.get("kubeconfig")
        bootstrap = flags.get("bootstrap-kubeconfig")
        if not (self.kubeconfig and os.path.exists(common.root(self.kubeconfig))):
            if bootstrap and not os.path.exists(common.root(bootstrap)):
                raise Failure(f"failed to run Kubelet: unable to load bootstrap kubeconfig: stat {bootstrap}: "
                              "no such file or directory")
            if bootstrap:
                # Real TLS bootstrap is done by kubeadm join in the stand-ins (it writes kubelet.conf).
                raise Failure("failed to run Kubelet: TLS bootstrap through bootstrap-kubelet.conf is not simulated")
            if not self.kubeconfig:
                log("I", "No API server defined - no node status update will be sent")
        fail_swap = flags.get("fail-swap-on") if "fail-swap-on" in flags else self.config.get("failSwapOn", True)
        if fail_swap:
            code, out, err = run("swapon", "--show", "--noheadings")
            if code != 0 or out.strip():
                raise Failure("failed to run Kubelet: running with swap on is not supported, please disable swap "
                              "or set --fail-swap-on flag to false")
        code, out, err = run("crictl", "--runtime-endpoint", self.runtime, "info")
        if code != 0:
            raise Failure(f"failed to run Kubelet: validate service connection: validate CRI v1 runtime API for "
                          f"endpoint \"{self.runtime}\": rpc error: code = Unavailable desc = connection error: "
                          f"{(out + err).strip()}")
        self.address = flags.get("node-ip") or self._default_address()
        self.static_path = common.root(flags.get("pod-manifest-path") or self.config.get("staticPodPath") or "")
        self.started = time.time()
        self.registered = False
        self.pulled = set()
        self.pull_retry = {}
        self.manifest_cache = {}
        self.last_report = None
        self.last_report_time = 0.0

    @staticmethod
    def _load_config(path):
        if not path:
            return {}
        try:
            with open(common.root(path)) as f:
                text = f.read()
        except FileNotFoundError:
            raise Failure(f"failed to load kubelet config file, path: {path}, error: failed to load Kubelet config "
                          f"file {path}, error failed to read kubelet config file \"{path}\", error: open {path}: "
                          "no such file or directory") from None
        try:
            docs = yamlio.load_all(text)
            if len(docs) != 1:
                raise configapi.ConfigError("expected exactly one KubeletConfiguration document")
            kind, config = configapi.decode(docs[0])
            if kind != "KubeletConfiguration":
                raise configapi.ConfigError(f'no kind "{kind}" is registered for the kubelet config file')
            configapi.validate_kubelet(config).raise_if_any()
        except (yamlio.YAMLError, configapi.ConfigError) as error:
            raise Failure(f"failed to load kubelet config file, path: {path}, error: {error}") from None
        return config

    def _default_address(self):
        try:
            return socket.gethostbyname(self.hostname)
        except OSError:
            return "127.0.0.1"

    def run(self):
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log("I", "Starting kubelet", version=cluster.VERSION, node=self.node_name)
        try:
            while True:
                try:
                    self.tick()
                except Exception as error:  # keep running like the real agent, but say what went wrong
                    log("E", "sync loop error", err=repr(error))
                time.sleep(LOOP)
        except _Stop:
            log("I", "Shutting down kubelet")
        return 0

    def _stop(self, *_):
        raise _Stop()

    # --- one pass of the sync loop ---

    def tick(self):
        cni = self._cni_ready()
        static = self._static_pods()
        phases = {name: self._run_pod(pod) for name, pod in static.items()}
        report = {"node": self.node_name, "host": self.hostname, "pid": os.getpid(), "started": self.started,
                  "cni": cni, "address": self.address, "staticPods": phases}
        if report != self.last_report or time.monotonic() - self.last_report_time >= cluster.HEARTBEAT:
            with common.locked():
                cluster.write_report(self.hostname, dict(report, time=common.now(), wall=time.time()))
            self.last_report, self.last_report_time = report, time.monotonic()
        self._sync_api(static, phases)

    def _cni_ready(self):
        try:
            return any(name.endswith((".conf", ".conflist", ".json")) for name in os.listdir(common.root(CNI_DIR)))
        except FileNotFoundError:
            return False

    def _static_pods(self):
        pods = {}
        if not self.static_path or not os.path.isdir(self.static_path):
            return pods
        for entry in sorted(os.listdir(self.static_path)):
            if entry.startswith("."):
                continue
            path = os.path.join(self.static_path, entry)
            try:
                mtime = os.stat(path).st_mtime
            except FileNotFoundError:
                continue
            cached = self.manifest_cache.get(path)
            if not cached or cached[0] != mtime:
                try:
                    with open(path) as f:
                        pod = yamlio.load(f.read())
                    if not isinstance(pod, dict) or pod.get("kind") != "Pod":
                        raise ValueError("not a Pod")
                except (OSError, ValueError, yamlio.YAMLError) as error:
                    log("E", "Could not process manifest file", path=path, err=str(error))
                    pod = None
                cached = (mtime, pod)
                self.manifest_cache[path] = cached
            if cached[1]:
                pods[cached[1]["metadata"]["name"]] = cached[1]
        return pods

    def _pull(self, image):
        if image in self.pulled:
            return True
        if self.pull_retry.get(image, 0) > time.monotonic():
            return False
        code, out, err = run("crictl", "--runtime-endpoint", self.runtime, "pull", image)
        if code == 0:
            self.pulled.add(image)
            return True
        log("E", "Failed to pull image", image=image, err=(out + err).strip())
        self.pull_retry[image] = time.monotonic() + PULL_BACKOFF
        return False

    def _run_pod(self, pod):
        spec = pod.get("spec") or {}
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        ok = all([self._pull(c.get("image", "")) for c in containers])
        return "Running" if ok else "Pending"

    # --- the API side ---

    def _api(self):
        """The cluster state when this kubelet can talk to a running API server with its credentials."""
        if not self.kubeconfig or not os.path.exists(common.root(self.kubeconfig)):
            return None
        state = cluster.load()
        if not state or not cluster.api_status(state)[0]:
            return None
        try:
            with open(common.root(self.kubeconfig)) as f:
                config = yamlio.load(f.read())
            ca = config["clusters"][0]["cluster"]["certificate-authority-data"]
        except (OSError, KeyError, IndexError, TypeError, yamlio.YAMLError):
            return None
        if cluster.pem_body(cluster.b64decode(ca)) != cluster.pem_body(state["caCert"]):
            log("E", "Unable to register node with API server", err="x509: certificate signed by unknown authority")
            return None
        return state

    def _sync_api(self, static, phases):
        state = self._api()
        if state is None:
            return
        if not self.registered:
            with common.locked():
                if cluster.get("Node", "v1", None, self.node_name) is None:
                    cluster.put(self._new_node(state))
                    log("I", "Successfully registered node", node=self.node_name)
            self.registered = True
        node = cluster.get("Node", "v1", None, self.node_name)
        if node is None:
            return  # deleted after registration: a running kubelet does not re-register (as real)
        # Images are pulled before taking the cluster lock: pulls go over the network.
        started = self._start_daemonset_pods(node)
        workload = self._start_workload_pods()
        with common.locked():
            if cluster.get("Node", "v1", None, self.node_name) is None:
                return
            self._sync_mirror_pods(node, static, phases)
            self._sync_daemonset_pods(node, started)
            self._sync_workload_pods(workload)
            # the controller-manager's and scheduler's part for Deployments and StatefulSets (workloads.py)
            workloads.sync()

    def _new_node(self, state):
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                  "kubernetes.io/hostname": self.node_name, "kubernetes.io/os": "linux"}
        for pair in (self.flags.get("node-labels") or "").split(","):
            if "=" in pair:
                key, value = pair.split("=", 1)
                labels[key] = value
        taints = list(self.config.get("registerWithTaints") or [])
        for text in (self.flags.get("register-with-taints") or "").split(","):
            if text:
                key_value, _, effect = text.partition(":")
                key, _, value = key_value.partition("=")
                taints.append({"key": key, "value": value, "effect": effect} if value else
                              {"key": key, "effect": effect})
        spec = {}
        cidr = self._pod_cidr(state)
        if cidr:
            spec.update({"podCIDR": cidr, "podCIDRs": [cidr]})
        if taints:
            spec["taints"] = taints
        return {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.node_name, "labels": labels,
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": spec,
            "status": {
                "addresses": [{"type": "InternalIP", "address": self.address},
                              {"type": "Hostname", "address": self.node_name}],
                "capacity": {"cpu": "2", "ephemeral-storage": "20511312Ki", "memory": "4015140Ki", "pods": "110"},
                "allocatable": {"cpu": "2", "ephemeral-storage": "18903225108", "memory": "3912740Ki",
                                "pods": str(self.config.get("maxPods", 110))},
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://2.3.4",
                             "kernelVersion": os.uname().release, "kubeProxyVersion": "",
                             "kubeletVersion": cluster.VERSION, "machineID": _machine_id(),
                             "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)",
                             "bootID": "", "systemUUID": ""},
            },
        }

    @staticmethod
    def _pod_cidr(state):
        """The controller-manager's node IPAM (--allocate-node-cidrs): the next free /24 of podSubnet."""
        subnet = (state.get("clusterConfiguration") or {}).get("networking", {}).get("podSubnet")
        if not subnet:
            return None
        network = ipaddress.ip_network(subnet.split(",")[0].strip(), strict=False)
        if network.version != 4 or network.prefixlen > 24:
            return None
        taken = {n.get("spec", {}).get("podCIDR") for n in cluster.list_objects("Node", "v1")}
        for candidate in network.subnets(new_prefix=24):
            if str(candidate) not in taken:
                return str(candidate)
        return None

    def _pod_status(self, phase, pod_spec, images_ok):
        now = cluster.timestamp()
        containers = []
        for container in pod_spec.get("containers") or []:
            status = {"name": container.get("name"), "image": container.get("image"), "ready": phase == "Running",
                      "restartCount": 0, "started": phase == "Running"}
            status["state"] = ({"running": {"startedAt": now}} if phase == "Running" else
                               {"waiting": {"reason": "ErrImagePull" if not images_ok else "ContainerCreating"}})
            containers.append(status)
        ready = "True" if phase == "Running" else "False"
        return {"phase": phase, "hostIP": self.address, "podIP": self.address, "startTime": now,
                "conditions": [{"type": "Initialized", "status": ready}, {"type": "Ready", "status": ready},
                               {"type": "ContainersReady", "status": ready}, {"type": "PodScheduled", "status": "True"}],
                "containerStatuses": containers}

    def _sync_mirror_pods(self, node, static, phases):
        wanted = {}
        for name, pod in static.items():
            namespace = pod["metadata"].get("namespace") or "default"
            mirror_name = f"{name}-{self.node_name}"
            wanted[(namespace, mirror_name)] = (pod, phases[name])
        for existing in cluster.list_objects("Pod", "v1"):
            meta = existing["metadata"]
            if (meta.get("annotations") or {}).get(cluster.MIRROR) and existing["spec"].get("nodeName") == \
                    self.node_name and (meta.get("namespace"), meta["name"]) not in wanted:
                cluster.delete("Pod", "v1", meta.get("namespace"), meta["name"])
        for (namespace, mirror_name), (pod, phase) in wanted.items():
            current = cluster.get("Pod", "v1", namespace, mirror_name)
            if current and current.get("status", {}).get("phase") == phase:
                continue
            spec = dict(pod.get("spec") or {})
            spec["nodeName"] = self.node_name
            mirror = {"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": mirror_name, "namespace": namespace,
                                   "labels": pod["metadata"].get("labels") or {},
                                   "annotations": dict(pod["metadata"].get("annotations") or {},
                                                       **{cluster.MIRROR: cluster.pod_suffix(mirror_name),
                                                          "kubernetes.io/config.source": "file"}),
                                   "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": self.node_name,
                                                        "uid": node["metadata"]["uid"], "controller": True}]},
                      "spec": spec, "status": self._pod_status(phase, spec, phase == "Running")}
            cluster.put(mirror)

    def _my_daemonset_pods(self):
        mine = {}
        for pod in cluster.list_objects("Pod", "v1"):
            owners = pod["metadata"].get("ownerReferences") or []
            if pod["spec"].get("nodeName") == self.node_name and owners and owners[0].get("kind") == "DaemonSet":
                mine[(pod["metadata"]["namespace"], owners[0]["name"])] = pod
        return mine

    def _start_daemonset_pods(self, node):
        """{(namespace, DaemonSet): (phase, images pulled)} for the DaemonSet pods this node must run and
        which are not Running yet at the DaemonSet's generation."""
        mine = self._my_daemonset_pods()
        started = {}
        for ds in cluster.list_objects("DaemonSet", "apps/v1"):
            key = (ds["metadata"]["namespace"], ds["metadata"]["name"])
            spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
            if not cluster.schedulable_on(spec, node):
                continue
            current = mine.get(key)
            generation = str(ds["metadata"].get("generation", 1))
            # A pod Running in the API but not started by this kubelet process (it restarted, or the node was
            # reset and joined again) is started again, as the real kubelet syncs every pod bound to it.
            if current and current.get("status", {}).get("phase") == "Running" and \
                    current["metadata"].get("annotations", {}).get(GENERATION) == generation and \
                    self.running_here.get(key) == generation:
                continue
            started[key] = self._start_pod(key[0], spec)
            if started[key][0] == "Running":
                self.running_here[key] = generation
        return started

    def _sync_daemonset_pods(self, node, started):
        mine = self._my_daemonset_pods()
        wanted = set()
        for ds in cluster.list_objects("DaemonSet", "apps/v1"):
            namespace, name = ds["metadata"]["namespace"], ds["metadata"]["name"]
            template = (ds.get("spec") or {}).get("template") or {}
            spec = template.get("spec") or {}
            if not cluster.schedulable_on(spec, node):
                continue
            wanted.add((namespace, name))
            current = mine.get((namespace, name))
            generation = str(ds["metadata"].get("generation", 1))
            if current and current["metadata"].get("annotations", {}).get(GENERATION) != generation:
                cluster.delete("Pod", "v1", namespace, current["metadata"]["name"])  # rolling update
                current = None
            if (namespace, name) not in started:
                continue
            phase, images_ok = started[(namespace, name)]
            if current and current.get("status", {}).get("phase") == phase:
                continue
            pod_spec = dict(spec, nodeName=self.node_name)
            pod_name = current["metadata"]["name"] if current else \
                f"{name}-{cluster.pod_suffix(ds['metadata']['uid'], self.node_name)}"
            cluster.put({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": namespace,
                             "labels": dict(template.get("metadata", {}).get("labels") or {}),
                             "annotations": {GENERATION: generation},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name,
                                                  "uid": ds["metadata"]["uid"], "controller": True,
                                                  "blockOwnerDeletion": True}]},
                "spec": pod_spec, "status": self._pod_status(phase, pod_spec, images_ok)})
        for key, pod in mine.items():
            if key not in wanted:
                cluster.delete("Pod", "v1", pod["metadata"]["namespace"], pod["metadata"]["name"])

    def _start_workload_pods(self):
        """{(namespace, name, uid): (phase, images pulled)} for the Deployment and StatefulSet pods the scheduler
        bound to this node that this process does not run yet."""
        started = {}
        for pod in cluster.list_objects("Pod", "v1"):
            owners = pod["metadata"].get("ownerReferences") or []
            if pod["spec"].get("nodeName") != self.node_name or not owners or owners[0].get("kind") not in \
                    workloads.OWNED:
                continue
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"], pod["metadata"]["uid"])
            if key in self.workloads_here and pod.get("status", {}).get("phase") == "Running":
                continue
            started[key] = self._start_pod(key[0], pod["spec"])
        return started

    def _sync_workload_pods(self, started):
        for (namespace, name, uid), (phase, images_ok) in started.items():
            pod = cluster.get("Pod", "v1", namespace, name)
            if pod is None or pod["metadata"]["uid"] != uid or pod["spec"].get("nodeName") != self.node_name:
                continue  # deleted or replaced meanwhile
            if phase == "Running":
                self.workloads_here.add((namespace, name, uid))
            if pod.get("status", {}).get("phase") != phase or not pod["status"].get("containerStatuses"):
                pod["status"] = self._pod_status(phase, pod["spec"], images_ok)
                cluster.put(pod)

    def _start_pod(self, namespace, spec):
        """(phase, images pulled): images first, then the init containers' effect on the host."""
        containers = (spec.get("initContainers") or []) + (spec.get("containers") or [])
        if not all([self._pull(c.get("image", "")) for c in containers]):
            return "Pending", False
        volumes = {v.get("name"): v for v in spec.get("volumes") or []}
        for container in spec.get("initContainers") or []:
            if not self._run_init_container(namespace, container, volumes):
                return "Pending", True
        return "Running", True

    def _run_init_container(self, namespace, container, volumes):
        """Carries out `cp [-f] SRC DST` from a ConfigMap volume to a hostPath volume (flannel's install-cni);
        any other init container only needs its image."""
        argv = list(container.get("command") or []) + list(container.get("args") or [])
        if not argv or os.path.basename(argv[0]) != "cp":
            return True
        paths = [a for a in argv[1:] if not a.startswith("-")]
        if len(paths) != 2:
            return True
        source, target = paths
        content = self._read_from_volume(namespace, container, volumes, source)
        if content is None:
            return True  # copies from the image itself (e.g. the flannel CNI binary): nothing on the host to do
        host_target = self._host_path(container, volumes, target)
        if host_target is None:
            return True
        if content is False:
            return False  # the ConfigMap is missing: the pod waits (ContainerCreating), as real
        os.makedirs(os.path.dirname(host_target), exist_ok=True)
        try:
            with open(host_target) as f:
                if f.read() == content:
                    return True
        except FileNotFoundError:
            pass
        cluster.write_file(host_target, content)
        log("I", "init container copied a file to the host", container=container.get("name"), path=target)
        return True

    @staticmethod
    def _mount_for(container, path):
        best = None
        for mount in container.get("volumeMounts") or []:
            mount_path = mount.get("mountPath", "").rstrip("/") or "/"
            if path == mount_path or path.startswith(mount_path.rstrip("/") + "/"):
                if best is None or len(mount_path) > len(best.get("mountPath", "")):
                    best = mount
        return best

    def _read_from_volume(self, namespace, container, volumes, path):
        mount = self._mount_for(container, path)
        volume = volumes.get(mount.get("name")) if mount else None
        if not volume or "configMap" not in volume:
            return None
        relative = path[len(mount["mountPath"].rstrip("/")) + 1:]
        configmap = cluster.get("ConfigMap", "v1", namespace, volume["configMap"].get("name"))
        if configmap is None:
            return False
        items = volume["configMap"].get("items")
        if items:
            for item in items:
                if item.get("path") == relative:
                    return (configmap.get("data") or {}).get(item.get("key"), False)
            return False
        return (configmap.get("data") or {}).get(relative, False)

    def _host_path(self, container, volumes, path):
        mount = self._mount_for(container, path)
        volume = volumes.get(mount.get("name")) if mount else None
        if not volume or "hostPath" not in volume:
            return None
        relative = path[len(mount["mountPath"].rstrip("/")):]
        return common.root(volume["hostPath"]["path"].rstrip("/") + relative)


class _Stop(BaseException):
    """SIGTERM from systemctl stop: leave the loop at once (files are replaced atomically, locks released)."""


def _machine_id():
    try:
        with open(common.root("/etc/machine-id")) as f:
            return f.read().strip()
    except OSError:
        return ""


def run(*argv):
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True)
    except FileNotFoundError:
        return 127, "", f'exec: "{argv[0]}": executable file not found in $PATH'
    return result.returncode, result.stdout, result.stderr


if __name__ == "__main__":
    sys.exit(main())
