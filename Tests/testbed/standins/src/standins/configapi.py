"""The configuration APIs kubeadm reads, decoded strictly, with the semantic checks kubeadm makes.

Field names and types are those of the upstream Go types (kubeadm.k8s.io/v1beta4:
kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go and bootstraptoken/v1;
kubelet.config.k8s.io/v1beta1: kubernetes/kubelet config/v1beta1/types.go @63b3249;
kubeproxy.config.k8s.io/v1alpha1: kubernetes/kube-proxy config/v1alpha1/types.go @d37b2e7).
A schema type is: "string" | "bool" | "int" | "float" | "duration" | "any" | [ELEMENT] | {"map": VALUE}
| the name of a struct in SCHEMA (a map of JSON field name to type).
"""

import ipaddress
import re

KUBEADM_GROUP = "kubeadm.k8s.io"
KUBEADM_API = "kubeadm.k8s.io/v1beta4"
KUBELET_API = "kubelet.config.k8s.io/v1beta1"
KUBEPROXY_API = "kubeproxy.config.k8s.io/v1alpha1"

# kind -> (apiVersion, schema type)
KINDS = {
    "InitConfiguration": (KUBEADM_API, "InitConfiguration"),
    "ClusterConfiguration": (KUBEADM_API, "ClusterConfiguration"),
    "JoinConfiguration": (KUBEADM_API, "JoinConfiguration"),
    "ResetConfiguration": (KUBEADM_API, "ResetConfiguration"),
    "UpgradeConfiguration": (KUBEADM_API, "UpgradeConfiguration"),
    "KubeletConfiguration": (KUBELET_API, "KubeletConfiguration"),
    "KubeProxyConfiguration": (KUBEPROXY_API, "KubeProxyConfiguration"),
}

SCHEMA = {
    # kubeadm.k8s.io/v1beta4
    "InitConfiguration": {
        "bootstrapTokens": ["BootstrapToken"], "dryRun": "bool", "nodeRegistration": "NodeRegistrationOptions",
        "localAPIEndpoint": "APIEndpoint", "certificateKey": "string", "skipPhases": ["string"],
        "patches": "Patches", "timeouts": "Timeouts",
    },
    "ClusterConfiguration": {
        "etcd": "Etcd", "networking": "Networking", "kubernetesVersion": "string", "controlPlaneEndpoint": "string",
        "apiServer": "APIServer", "controllerManager": "ControlPlaneComponent", "scheduler": "ControlPlaneComponent",
        "dns": "DNS", "proxy": "Proxy", "certificatesDir": "string", "imageRepository": "string",
        "featureGates": {"map": "bool"}, "clusterName": "string", "encryptionAlgorithm": "string",
        "certificateValidityPeriod": "duration", "caCertificateValidityPeriod": "duration",
    },
    "ControlPlaneComponent": {"extraArgs": ["Arg"], "extraVolumes": ["HostPathMount"], "extraEnvs": ["EnvVar"]},
    "APIServer": {"extraArgs": ["Arg"], "extraVolumes": ["HostPathMount"], "extraEnvs": ["EnvVar"],
                  "certSANs": ["string"]},
    "DNS": {"imageRepository": "string", "imageTag": "string", "disabled": "bool"},
    "Proxy": {"disabled": "bool"},
    "APIEndpoint": {"advertiseAddress": "string", "bindPort": "int"},
    "NodeRegistrationOptions": {
        "name": "string", "criSocket": "string", "taints": ["Taint"], "kubeletExtraArgs": ["Arg"],
        "ignorePreflightErrors": ["string"], "imagePullPolicy": "string", "imagePullSerial": "bool",
    },
    "Networking": {"serviceSubnet": "string", "podSubnet": "string", "dnsDomain": "string"},
    "Etcd": {"local": "LocalEtcd", "external": "ExternalEtcd"},
    "LocalEtcd": {
        "imageRepository": "string", "imageTag": "string", "dataDir": "string", "extraArgs": ["Arg"],
        "extraEnvs": ["EnvVar"], "serverCertSANs": ["string"], "peerCertSANs": ["string"],
    },
    "ExternalEtcd": {"endpoints": ["string"], "caFile": "string", "certFile": "string", "keyFile": "string"},
    "JoinConfiguration": {
        "dryRun": "bool", "nodeRegistration": "NodeRegistrationOptions", "caCertPath": "string",
        "discovery": "Discovery", "controlPlane": "JoinControlPlane", "skipPhases": ["string"],
        "patches": "Patches", "timeouts": "Timeouts",
    },
    "JoinControlPlane": {"localAPIEndpoint": "APIEndpoint", "certificateKey": "string"},
    "Discovery": {"bootstrapToken": "BootstrapTokenDiscovery", "file": "FileDiscovery",
                  "tlsBootstrapToken": "string"},
    "BootstrapTokenDiscovery": {"token": "string", "apiServerEndpoint": "string", "caCertHashes": ["string"],
                                "unsafeSkipCAVerification": "bool"},
    "FileDiscovery": {"kubeConfigPath": "string"},
    "HostPathMount": {"name": "string", "hostPath": "string", "mountPath": "string", "readOnly": "bool",
                      "pathType": "string"},
    "Patches": {"directory": "string"},
    "ResetConfiguration": {
        "cleanupTmpDir": "bool", "certificatesDir": "string", "criSocket": "string", "dryRun": "bool",
        "force": "bool", "ignorePreflightErrors": ["string"], "skipPhases": ["string"], "unmountFlags": ["string"],
        "timeouts": "Timeouts",
    },
    "UpgradeConfiguration": {"apply": {"map": "any"}, "diff": {"map": "any"}, "node": {"map": "any"},
                             "plan": {"map": "any"}, "timeouts": "Timeouts"},
    "Arg": {"name": "string", "value": "string"},
    "EnvVar": {"name": "string", "value": "string", "valueFrom": "any"},
    "Timeouts": {
        "controlPlaneComponentHealthCheck": "duration", "kubeletHealthCheck": "duration",
        "kubernetesAPICall": "duration", "etcdAPICall": "duration", "tlsBootstrap": "duration",
        "discovery": "duration", "upgradeManifests": "duration",
    },
    # bootstraptoken/v1
    "BootstrapToken": {"token": "string", "description": "string", "ttl": "duration", "expires": "string",
                       "usages": ["string"], "groups": ["string"]},
    # k8s.io/api/core/v1 and k8s.io/component-base
    "Taint": {"key": "string", "value": "string", "effect": "string", "timeAdded": "string"},
    "LoggingConfiguration": {"format": "string", "flushFrequency": "any", "verbosity": "int", "vmodule": "any",
                             "options": "any"},
    "TracingConfiguration": {"endpoint": "string", "samplingRatePerMillion": "int"},
    "ClientConnectionConfiguration": {"kubeconfig": "string", "acceptContentTypes": "string",
                                      "contentType": "string", "qps": "float", "burst": "int"},
    # kubelet.config.k8s.io/v1beta1 and kubeproxy.config.k8s.io/v1alpha1 (generated from the Go types)
    'KubeletConfiguration': {
        'enableServer': 'bool', 'staticPodPath': 'string', 'podLogsDir': 'string', 'syncFrequency': 'duration',
        'fileCheckFrequency': 'duration', 'httpCheckFrequency': 'duration', 'staticPodURL': 'string',
        'staticPodURLHeader': {'map': ['string']}, 'address': 'string', 'port': 'int', 'readOnlyPort': 'int',
        'tlsCertFile': 'string', 'tlsPrivateKeyFile': 'string', 'tlsCipherSuites': ['string'],
        'tlsCurvePreferences': ['int'], 'tlsMinVersion': 'string', 'rotateCertificates': 'bool',
        'serverTLSBootstrap': 'bool', 'authentication': 'KubeletAuthentication',
        'authorization': 'KubeletAuthorization', 'registryPullQPS': 'int', 'registryBurst': 'int',
        'imagePullCredentialsVerificationPolicy': 'string', 'preloadedImagesVerificationAllowlist': ['string'],
        'eventRecordQPS': 'int', 'eventBurst': 'int', 'enableDebuggingHandlers': 'bool',
        'enableContentionProfiling': 'bool', 'healthzPort': 'int', 'healthzBindAddress': 'string',
        'oomScoreAdj': 'int', 'clusterDomain': 'string', 'clusterDNS': ['string'],
        'streamingConnectionIdleTimeout': 'duration', 'nodeStatusUpdateFrequency': 'duration',
        'nodeStatusReportFrequency': 'duration', 'nodeLeaseDurationSeconds': 'int',
        'imageMinimumGCAge': 'duration', 'imageMaximumGCAge': 'duration', 'imageGCHighThresholdPercent': 'int',
        'imageGCLowThresholdPercent': 'int', 'volumeStatsAggPeriod': 'duration', 'kubeletCgroups': 'string',
        'systemCgroups': 'string', 'cgroupRoot': 'string', 'cgroupsPerQOS': 'bool', 'cgroupDriver': 'string',
        'cpuManagerPolicy': 'string', 'singleProcessOOMKill': 'bool',
        'cpuManagerPolicyOptions': {'map': 'string'}, 'cpuManagerReconcilePeriod': 'duration',
        'memoryManagerPolicy': 'string', 'topologyManagerPolicy': 'string', 'topologyManagerScope': 'string',
        'topologyManagerPolicyOptions': {'map': 'string'}, 'qosReserved': {'map': 'string'},
        'runtimeRequestTimeout': 'duration', 'hairpinMode': 'string', 'maxPods': 'int', 'podCIDR': 'string',
        'podPidsLimit': 'int', 'resolvConf': 'string', 'runOnce': 'bool', 'cpuCFSQuota': 'bool',
        'cpuCFSQuotaPeriod': 'duration', 'nodeStatusMaxImages': 'int', 'maxOpenFiles': 'int',
        'contentType': 'string', 'kubeAPIQPS': 'int', 'kubeAPIBurst': 'int', 'serializeImagePulls': 'bool',
        'maxParallelImagePulls': 'int', 'evictionHard': {'map': 'string'}, 'evictionSoft': {'map': 'string'},
        'evictionSoftGracePeriod': {'map': 'string'}, 'evictionPressureTransitionPeriod': 'duration',
        'evictionMaxPodGracePeriod': 'int', 'evictionMinimumReclaim': {'map': 'string'},
        'mergeDefaultEvictionSettings': 'bool', 'podsPerCore': 'int', 'enableControllerAttachDetach': 'bool',
        'protectKernelDefaults': 'bool', 'makeIPTablesUtilChains': 'bool', 'iptablesMasqueradeBit': 'int',
        'iptablesDropBit': 'int', 'featureGates': {'map': 'bool'}, 'failSwapOn': 'bool',
        'memorySwap': 'MemorySwapConfiguration', 'containerLogMaxSize': 'string', 'containerLogMaxFiles': 'int',
        'containerLogMaxWorkers': 'int', 'containerLogMonitorInterval': 'duration',
        'configMapAndSecretChangeDetectionStrategy': 'string', 'systemReserved': {'map': 'string'},
        'kubeReserved': {'map': 'string'}, 'reservedSystemCPUs': 'string',
        'showHiddenMetricsForVersion': 'string', 'systemReservedCgroup': 'string',
        'kubeReservedCgroup': 'string', 'enforceNodeAllocatable': ['string'], 'allowedUnsafeSysctls': ['string'],
        'defaultPodSysctls': {'map': 'string'}, 'volumePluginDir': 'string', 'providerID': 'string',
        'kernelMemcgNotification': 'bool', 'logging': 'LoggingConfiguration', 'enableSystemLogHandler': 'bool',
        'enableSystemLogQuery': 'bool', 'shutdownGracePeriod': 'duration',
        'shutdownGracePeriodCriticalPods': 'duration',
        'shutdownGracePeriodByPodPriority': ['ShutdownGracePeriodByPodPriority'],
        'crashLoopBackOff': 'CrashLoopBackOffConfig', 'reservedMemory': ['MemoryReservation'],
        'enableProfilingHandler': 'bool', 'enableDebugFlagsHandler': 'bool', 'seccompDefault': 'bool',
        'memoryThrottlingFactor': 'float', 'memoryReservationPolicy': 'string', 'registerWithTaints': ['Taint'],
        'registerNode': 'bool', 'tracing': 'TracingConfiguration', 'localStorageCapacityIsolation': 'bool',
        'containerRuntimeEndpoint': 'string', 'imageServiceEndpoint': 'string', 'failCgroupV1': 'bool',
        'userNamespaces': 'UserNamespaces',
    },
    'KubeletAuthorization': {
        'mode': 'string', 'webhook': 'KubeletWebhookAuthorization',
    },
    'KubeletWebhookAuthorization': {
        'cacheAuthorizedTTL': 'duration', 'cacheUnauthorizedTTL': 'duration',
    },
    'KubeletAuthentication': {
        'x509': 'KubeletX509Authentication', 'webhook': 'KubeletWebhookAuthentication',
        'anonymous': 'KubeletAnonymousAuthentication',
    },
    'KubeletX509Authentication': {
        'clientCAFile': 'string',
    },
    'KubeletWebhookAuthentication': {
        'enabled': 'bool', 'cacheTTL': 'duration',
    },
    'KubeletAnonymousAuthentication': {
        'enabled': 'bool',
    },
    'MemoryReservation': {
        'numaNode': 'int', 'limits': {'map': 'any'},
    },
    'ShutdownGracePeriodByPodPriority': {
        'priority': 'int', 'shutdownGracePeriodSeconds': 'int',
    },
    'MemorySwapConfiguration': {
        'swapBehavior': 'string',
    },
    'CrashLoopBackOffConfig': {
        'maxContainerRestartPeriod': 'duration',
    },
    'UserNamespaces': {
        'idsPerPod': 'int',
    },
    'KubeProxyIPTablesConfiguration': {
        'masqueradeBit': 'int', 'masqueradeAll': 'bool', 'localhostNodePorts': 'bool', 'syncPeriod': 'duration',
        'minSyncPeriod': 'duration',
    },
    'KubeProxyIPVSConfiguration': {
        'syncPeriod': 'duration', 'minSyncPeriod': 'duration', 'scheduler': 'string', 'excludeCIDRs': ['string'],
        'strictARP': 'bool', 'tcpTimeout': 'duration', 'tcpFinTimeout': 'duration', 'udpTimeout': 'duration',
    },
    'KubeProxyNFTablesConfiguration': {
        'masqueradeBit': 'int', 'masqueradeAll': 'bool', 'syncPeriod': 'duration', 'minSyncPeriod': 'duration',
    },
    'KubeProxyConntrackConfiguration': {
        'maxPerCore': 'int', 'min': 'int', 'tcpEstablishedTimeout': 'duration',
        'tcpCloseWaitTimeout': 'duration', 'tcpBeLiberal': 'bool', 'udpTimeout': 'duration',
        'udpStreamTimeout': 'duration',
    },
    'KubeProxyWinkernelConfiguration': {
        'networkName': 'string', 'sourceVip': 'string', 'enableDSR': 'bool', 'rootHnsEndpointName': 'string',
        'forwardHealthCheckVip': 'bool',
    },
    'DetectLocalConfiguration': {
        'bridgeInterface': 'string', 'interfaceNamePrefix': 'string',
    },
    'KubeProxyConfiguration': {
        'featureGates': {'map': 'bool'}, 'clientConnection': 'ClientConnectionConfiguration',
        'logging': 'LoggingConfiguration', 'hostnameOverride': 'string', 'bindAddress': 'string',
        'healthzBindAddress': 'string', 'metricsBindAddress': 'string', 'bindAddressHardFail': 'bool',
        'enableProfiling': 'bool', 'showHiddenMetricsForVersion': 'string', 'mode': 'string',
        'iptables': 'KubeProxyIPTablesConfiguration', 'ipvs': 'KubeProxyIPVSConfiguration',
        'nftables': 'KubeProxyNFTablesConfiguration', 'winkernel': 'KubeProxyWinkernelConfiguration',
        'detectLocalMode': 'string', 'detectLocal': 'DetectLocalConfiguration', 'clusterCIDR': 'string',
        'nodePortAddresses': ['string'], 'oomScoreAdj': 'int', 'conntrack': 'KubeProxyConntrackConfiguration',
        'configSyncPeriod': 'duration', 'portRange': 'string', 'windowsRunAsService': 'bool',
    },
}


class ConfigError(Exception):
    """A configuration kubeadm refuses; the message is kubeadm's."""


_GO_TYPES = {"string": "string", "bool": "bool", "int": "int32", "float": "float64", "duration": "v1.Duration"}
_DURATION = re.compile(r"^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$")


def _go_type(spec):
    if isinstance(spec, list):
        return "[]" + _go_type(spec[0])
    if isinstance(spec, dict):
        return "map[string]" + _go_type(spec["map"])
    return _GO_TYPES.get(spec, spec)


def _json_type(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def valid_duration(text):
    return text == "0" or bool(_DURATION.match(text))


def duration_seconds(text):
    """Go's time.ParseDuration, in seconds."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    if text in ("0", ""):
        return 0.0
    sign = -1 if text.startswith("-") else 1
    total = sum(float(number) * units[unit]
                for number, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text))
    return sign * total


def _check(value, spec, path, owner, unknown, mismatched):
    """Walks ``value`` against ``spec``: unknown fields and type mismatches, as Go's strict JSON decoding."""
    if value is None or spec == "any":
        return
    if isinstance(spec, list):
        if not isinstance(value, list):
            mismatched.append((path, value, spec, owner))
            return
        for index, item in enumerate(value):
            _check(item, spec[0], f"{path}[{index}]", owner, unknown, mismatched)
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            mismatched.append((path, value, spec, owner))
            return
        for key, item in value.items():
            _check(item, spec["map"], f"{path}[{key}]", owner, unknown, mismatched)
        return
    if spec in SCHEMA:
        if not isinstance(value, dict):
            mismatched.append((path, value, spec, owner))
            return
        fields = SCHEMA[spec]
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if key not in fields:
                unknown.append(child)
            else:
                _check(item, fields[key], child, spec, unknown, mismatched)
        return
    ok = {"string": isinstance(value, str),
          "bool": isinstance(value, bool),
          "int": isinstance(value, int) and not isinstance(value, bool),
          "float": isinstance(value, (int, float)) and not isinstance(value, bool),
          "duration": isinstance(value, str)}[spec]
    if not ok:
        mismatched.append((path, value, spec, owner))
    elif spec == "duration" and not valid_duration(value):
        mismatched.append((path, value, "duration-text", owner))


def _gvk(api_version, kind):
    group, _, version = api_version.rpartition("/")
    return f'schema.GroupVersionKind{{Group:"{group}", Version:"{version}", Kind:"{kind}"}}'


def decode(document):
    """One YAML document of a kubeadm --config file, strictly decoded: returns (kind, document)."""
    if not isinstance(document, dict):
        raise ConfigError("couldn't interpret the configuration document: expected a YAML map")
    api_version, kind = document.get("apiVersion"), document.get("kind")
    if not kind:
        raise ConfigError(f"Object 'Kind' is missing in '{_short(document)}'")
    if not api_version:
        raise ConfigError(f"Object 'apiVersion' is missing in '{_short(document)}'")
    group = api_version.rpartition("/")[0]
    if group == KUBEADM_GROUP and api_version != KUBEADM_API:
        if api_version in ("kubeadm.k8s.io/v1beta1", "kubeadm.k8s.io/v1beta2", "kubeadm.k8s.io/v1alpha3"):
            raise ConfigError(f'your configuration file uses an old API spec: "{api_version}" (kind: "{kind}"). '
                              "Please use kubeadm v1.22 instead and run 'kubeadm config migrate --old-config "
                              "old.yaml --new-config new.yaml', which will write the new, similar spec using a "
                              "newer API version.")
        raise ConfigError(f'no kind "{kind}" is registered for version "{api_version}" in scheme '
                          '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31" '
                          "(testbed stand-in: only kubeadm.k8s.io/v1beta4 is accepted)")
    expected = KINDS.get(kind)
    if expected is None or expected[0] != api_version:
        raise ConfigError(f'no kind "{kind}" is registered for version "{api_version}" in scheme '
                          '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"')
    body = {key: value for key, value in document.items() if key not in ("apiVersion", "kind")}
    unknown, mismatched = [], []
    _check(body, expected[1], "", expected[1], unknown, mismatched)
    if mismatched:
        path, value, spec, owner = mismatched[0]
        if spec == "duration-text":
            raise ConfigError(f"error unmarshaling configuration {_gvk(api_version, kind)}: "
                              f'time: invalid duration "{value}" (field {path})')
        raise ConfigError(f"error unmarshaling configuration {_gvk(api_version, kind)}: json: cannot unmarshal "
                          f"{_json_type(value)} into Go struct field {owner}.{path} of type {_go_type(spec)}")
    if unknown:
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise ConfigError(f"error unmarshaling configuration {_gvk(api_version, kind)}: "
                          f"strict decoding error: {listed}")
    return kind, document


def _short(document):
    text = repr(document)
    return text if len(text) < 80 else text[:77] + "..."


def decode_all(documents, allowed):
    """Every document decoded; a kind twice or a kind not in ``allowed`` is refused."""
    found = {}
    for document in documents:
        kind, decoded = decode(document)
        if kind in found:
            raise ConfigError(f"duplicate configuration document of kind {kind}")
        found[kind] = decoded
    for kind in found:
        if kind not in allowed:
            # Real kubeadm ignores a document meant for another command with a warning; a stack passing the
            # wrong document is a mistake worth stopping for.
            raise ConfigError(f"{kind} is not expected by this command (expected: {', '.join(allowed)})")
    return found


# --- semantic validation (kubeadm's ValidateInitConfiguration / ValidateJoinConfiguration ...) ---

TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
TOKEN_FORM = r'"\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"'
VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CERT_KEY = re.compile(r"^[0-9a-f]{64}$")
CA_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")


class FieldErrors:
    def __init__(self):
        self.errors = []

    def invalid(self, path, value, detail):
        self.errors.append(f'{path}: Invalid value: "{value}": {detail}')

    def required(self, path, detail=""):
        self.errors.append(f"{path}: Required value" + (f": {detail}" if detail else ""))

    def unsupported(self, path, value, allowed):
        choices = ", ".join(f'"{choice}"' for choice in allowed)
        self.errors.append(f'{path}: Unsupported value: "{value}": supported values: {choices}')

    def raise_if_any(self):
        if len(self.errors) == 1:
            raise ConfigError(self.errors[0])
        if self.errors:
            raise ConfigError("[" + ", ".join(self.errors) + "]")


def _endpoint_ok(text):
    host, port = split_host_port(text)
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        return False
    return bool(host) and (is_ip(host) or bool(DNS1123_SUBDOMAIN.match(host)))


def split_host_port(text):
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, (rest[1:] if rest.startswith(":") else None)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, None


def is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _cidrs(text):
    nets = []
    for part in text.split(","):
        nets.append(ipaddress.ip_network(part.strip(), strict=False))
    return nets


def _args(errors, path, args):
    for index, arg in enumerate(args or []):
        if not arg.get("name"):
            errors.required(f"{path}[{index}].name")


def _node_registration(errors, path, registration, control_plane):
    name = registration.get("name", "")
    if name and not DNS1123_SUBDOMAIN.match(name):
        errors.invalid(f"{path}.name", name, "a lowercase RFC 1123 subdomain must consist of lower case "
                       "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
    socket = registration.get("criSocket", "")
    if socket and not socket.startswith("unix://"):
        errors.invalid(f"{path}.criSocket", socket, "the CRI socket must be a URL with the unix:// scheme")
    policy = registration.get("imagePullPolicy")
    if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
        errors.unsupported(f"{path}.imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"])
    for index, taint in enumerate(registration.get("taints") or []):
        if not taint.get("key"):
            errors.required(f"{path}.taints[{index}].key")
        if taint.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errors.unsupported(f"{path}.taints[{index}].effect", taint.get("effect", ""),
                               ["NoExecute", "NoSchedule", "PreferNoSchedule"])
    _args(errors, f"{path}.kubeletExtraArgs", registration.get("kubeletExtraArgs"))


def _api_endpoint(errors, path, endpoint):
    address = endpoint.get("advertiseAddress")
    if address and not is_ip(address):
        errors.invalid(f"{path}.advertiseAddress", address, "must be a valid IP address")
    port = endpoint.get("bindPort")
    if port is not None and not 0 < port < 65536:
        errors.invalid(f"{path}.bindPort", port, "must be a valid port number between 1 and 65535")


def check_kubernetes_version(text, kubeadm_version):
    """kubeadm's version checks; a missing version would make kubeadm ask dl.k8s.io (no network here)."""
    if not text:
        raise ConfigError('kubernetesVersion: Required value: unable to fetch file. URL: '
                          '"https://dl.k8s.io/release/stable-1.txt": no network in a closed environment '
                          "(testbed stand-in: pin ClusterConfiguration.kubernetesVersion)")
    match = VERSION.match(text)
    if not match:
        if re.match(r"^(stable|latest|ci)", text):
            raise ConfigError(f'unable to fetch file. URL: "https://dl.k8s.io/release/{text}.txt": '
                              "no network in a closed environment (testbed stand-in: pin an exact version)")
        raise ConfigError(f'kubernetesVersion: Invalid value: "{text}": invalid version "{text}"')
    own = VERSION.match(kubeadm_version)
    minor, own_minor = int(match.group(2)), int(own.group(2))
    if int(match.group(1)) != 1 or minor < own_minor - 1:
        raise ConfigError(f"this version of kubeadm only supports deploying clusters with the control plane "
                          f"version >= 1.{own_minor - 1}.0. Current version: {text}")
    if minor > own_minor:
        raise ConfigError(f'the specified version "{text}" is newer than kubeadm {kubeadm_version}: '
                          "use a kubeadm of that minor version")
    return "v" + text.lstrip("v")


def validate_cluster(errors, cluster):
    endpoint = cluster.get("controlPlaneEndpoint")
    if endpoint and not _endpoint_ok(endpoint):
        errors.invalid("controlPlaneEndpoint", endpoint, "must be a valid IP address or RFC 1123 DNS subdomain, "
                       "with an optional port")
    networking = cluster.get("networking") or {}
    parsed = {}
    for key in ("podSubnet", "serviceSubnet"):
        if networking.get(key):
            try:
                parsed[key] = _cidrs(networking[key])
            except ValueError:
                errors.invalid(f"networking.{key}", networking[key], "couldn't parse subnet")
    if len(parsed) == 2 and any(a.overlaps(b) for a in parsed["podSubnet"] for b in parsed["serviceSubnet"]
                                if a.version == b.version):
        errors.invalid("networking.podSubnet", networking["podSubnet"],
                       f'subnet overlaps with serviceSubnet "{networking["serviceSubnet"]}"')
    algorithm = cluster.get("encryptionAlgorithm")
    if algorithm and algorithm not in ("RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256"):
        errors.unsupported("encryptionAlgorithm", algorithm, ["ECDSA-P256", "RSA-2048", "RSA-3072", "RSA-4096"])
    etcd = cluster.get("etcd") or {}
    if etcd.get("local") and etcd.get("external"):
        errors.invalid("etcd", "", "etcd.local and etcd.external are mutually exclusive")
    if etcd.get("external"):
        errors.invalid("etcd.external", "", "external etcd is not simulated by the testbed stand-in")
    for component in ("apiServer", "controllerManager", "scheduler"):
        _args(errors, f"{component}.extraArgs", (cluster.get(component) or {}).get("extraArgs"))
    _args(errors, "etcd.local.extraArgs", (etcd.get("local") or {}).get("extraArgs"))


def validate_init(init):
    errors = FieldErrors()
    for index, token in enumerate(init.get("bootstrapTokens") or []):
        value = token.get("token")
        if not value:
            errors.required(f"bootstrapTokens[{index}].token")
        elif not TOKEN.match(value):
            errors.invalid(f"bootstrapTokens[{index}].token", value,
                           f'the bootstrap token "{value}" was not of the form {TOKEN_FORM}')
        for usage in token.get("usages") or []:
            if usage not in ("signing", "authentication"):
                errors.unsupported(f"bootstrapTokens[{index}].usages", usage, ["authentication", "signing"])
    key = init.get("certificateKey")
    if key and not CERT_KEY.match(key):
        errors.invalid("certificateKey", key, "the certificate key must be a hex encoded AES key of 32 bytes")
    _node_registration(errors, "nodeRegistration", init.get("nodeRegistration") or {}, True)
    _api_endpoint(errors, "localAPIEndpoint", init.get("localAPIEndpoint") or {})
    return errors


def validate_join(join):
    errors = FieldErrors()
    discovery = join.get("discovery")
    if not discovery or not (discovery.get("bootstrapToken") or discovery.get("file")):
        errors.invalid("discovery", "", "bootstrapToken or file must be set")
    elif discovery.get("bootstrapToken") and discovery.get("file"):
        errors.invalid("discovery", "", "bootstrapToken and file are mutually exclusive")
    elif discovery.get("file"):
        errors.invalid("discovery.file", discovery["file"].get("kubeConfigPath", ""),
                       "file discovery is not simulated by the testbed stand-in; use bootstrapToken")
    else:
        token = discovery["bootstrapToken"]
        value = token.get("token", "")
        if not value:
            errors.required("discovery.bootstrapToken.token")
        elif not TOKEN.match(value):
            errors.invalid("discovery.bootstrapToken.token", value,
                           f'the bootstrap token "{value}" was not of the form {TOKEN_FORM}')
        endpoint = token.get("apiServerEndpoint", "")
        if not endpoint:
            errors.required("discovery.bootstrapToken.apiServerEndpoint")
        elif not _endpoint_ok(endpoint):
            errors.invalid("discovery.bootstrapToken.apiServerEndpoint", endpoint,
                           "address is not a valid host:port")
        hashes = token.get("caCertHashes") or []
        if not hashes and not token.get("unsafeSkipCAVerification"):
            errors.invalid("discovery.bootstrapToken.caCertHashes", "",
                           "using token-based discovery without caCertHashes can be unsafe. Set "
                           "unsafeSkipCAVerification as true in your kubeadm config file or pass "
                           "--discovery-token-unsafe-skip-ca-verification flag to continue")
        for index, value in enumerate(hashes):
            if not CA_HASH.match(value):
                errors.invalid(f"discovery.bootstrapToken.caCertHashes[{index}]", value,
                               'the hash must be of the form "sha256:<64 hex characters>"')
        tls = discovery.get("tlsBootstrapToken")
        if tls and not TOKEN.match(tls):
            errors.invalid("discovery.tlsBootstrapToken", tls,
                           f'the bootstrap token "{tls}" was not of the form {TOKEN_FORM}')
    plane = join.get("controlPlane")
    if plane is not None:
        key = plane.get("certificateKey")
        if key and not CERT_KEY.match(key):
            errors.invalid("controlPlane.certificateKey", key,
                           "the certificate key must be a hex encoded AES key of 32 bytes")
        _api_endpoint(errors, "controlPlane.localAPIEndpoint", plane.get("localAPIEndpoint") or {})
    _node_registration(errors, "nodeRegistration", join.get("nodeRegistration") or {}, plane is not None)
    return errors


def validate_kubelet(config):
    errors = FieldErrors()
    driver = config.get("cgroupDriver")
    if driver is not None and driver not in ("systemd", "cgroupfs"):
        errors.unsupported("cgroupDriver", driver, ["cgroupfs", "systemd"])
    endpoint = config.get("containerRuntimeEndpoint")
    if endpoint and not endpoint.startswith(("unix://", "npipe://")):
        errors.invalid("containerRuntimeEndpoint", endpoint, "must be a unix:// URL")
    for key in ("maxPods", "port", "healthzPort"):
        if key in config and config[key] < 0:
            errors.invalid(key, config[key], "must be non-negative")
    swap = (config.get("memorySwap") or {}).get("swapBehavior")
    if swap not in (None, "", "NoSwap", "LimitedSwap"):
        errors.unsupported("memorySwap.swapBehavior", swap, ["LimitedSwap", "NoSwap"])
    return errors


def validate_proxy(config):
    errors = FieldErrors()
    mode = config.get("mode")
    if mode not in (None, "", "iptables", "ipvs", "nftables"):
        errors.unsupported("mode", mode, ["iptables", "ipvs", "nftables"])
    cidr = config.get("clusterCIDR")
    if cidr:
        try:
            _cidrs(cidr)
        except ValueError:
            errors.invalid("clusterCIDR", cidr, "must be a valid CIDR block (e.g. 10.100.0.0/16)")
    return errors
