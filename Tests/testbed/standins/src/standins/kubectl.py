"""kubectl stand-in: the commands the stacks use, against the simulated cluster (cluster.py).

Credentials come from the kubeconfig as for the real client: the server must be this cluster's, the
CA must be the cluster's CA, the client certificate one the cluster issued. admin.conf (kubeadm:
cluster-admins or system:masters) may do everything; a kubelet.conf (system:nodes) may only read its
own Node. Anything outside the supported subset is refused with a clear error, never answered wrongly.
"""

import json
import os
import re
import subprocess
import sys
import time

from . import cli, cluster, common, workloads, yamlio
from .cli import Failure

VALIDATOR_PYTHON = "/opt/islet-test-tools/bin/python3"
VALIDATE_VERSION = "1.36.0"
ANNOTATION_LIMIT = 262144
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# plural, singular, short names, group, version, kind, namespaced
RESOURCES = [
    ("nodes", "node", ["no"], "", "v1", "Node", False),
    ("pods", "pod", ["po"], "", "v1", "Pod", True),
    ("namespaces", "namespace", ["ns"], "", "v1", "Namespace", False),
    ("configmaps", "configmap", ["cm"], "", "v1", "ConfigMap", True),
    ("secrets", "secret", [], "", "v1", "Secret", True),
    ("services", "service", ["svc"], "", "v1", "Service", True),
    ("serviceaccounts", "serviceaccount", ["sa"], "", "v1", "ServiceAccount", True),
    ("persistentvolumeclaims", "persistentvolumeclaim", ["pvc"], "", "v1", "PersistentVolumeClaim", True),
    ("daemonsets", "daemonset", ["ds"], "apps", "v1", "DaemonSet", True),
    ("deployments", "deployment", ["deploy"], "apps", "v1", "Deployment", True),
    ("statefulsets", "statefulset", ["sts"], "apps", "v1", "StatefulSet", True),
    ("replicasets", "replicaset", ["rs"], "apps", "v1", "ReplicaSet", True),
    ("jobs", "job", [], "batch", "v1", "Job", True),
    ("cronjobs", "cronjob", ["cj"], "batch", "v1", "CronJob", True),
    ("ingresses", "ingress", ["ing"], "networking.k8s.io", "v1", "Ingress", True),
    ("clusterroles", "clusterrole", [], "rbac.authorization.k8s.io", "v1", "ClusterRole", False),
    ("clusterrolebindings", "clusterrolebinding", [], "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", False),
    ("roles", "role", [], "rbac.authorization.k8s.io", "v1", "Role", True),
    ("rolebindings", "rolebinding", [], "rbac.authorization.k8s.io", "v1", "RoleBinding", True),
    ("customresourcedefinitions", "customresourcedefinition", ["crd", "crds"], "apiextensions.k8s.io", "v1",
     "CustomResourceDefinition", False),
]

GLOBAL = {"kubeconfig": "value", "namespace": "value", "request-timeout": "value", "context": "value",
          "v": "value", "server": "value", "all-namespaces": "bool", "output": "value", "help": "bool"}
SHORT = {"n": "namespace", "A": "all-namespaces", "o": "output", "v": "v", "h": "help"}


def main():
    return common.run("kubectl", body)


def body(args):
    try:
        return dispatch(args)
    except Failure as failure:
        print(failure.message, file=sys.stderr)
        return failure.code


def dispatch(args):
    words = []
    index = 0
    # The command is the first word that is not a flag or a global flag's value.
    while index < len(args):
        arg = args[index]
        if arg == "--":
            break
        if arg.startswith("-"):
            name = arg.lstrip("-").split("=")[0]
            name = SHORT.get(name, name) if not arg.startswith("--") else name
            if "=" not in arg and GLOBAL.get(name) == "value":
                index += 1
        else:
            words.append((index, arg))
            break
        index += 1
    if not words:
        raise Failure("kubectl stand-in: a command is required (get, apply, delete, drain, cordon, uncordon, "
                      "rollout, wait, exec, version)")
    position, command = words[0]
    rest = args[:position] + args[position + 1:]
    handlers = {"get": cmd_get, "apply": cmd_apply, "delete": cmd_delete, "drain": cmd_drain, "cordon": cmd_cordon,
                "uncordon": cmd_uncordon, "rollout": cmd_rollout, "wait": cmd_wait, "exec": cmd_exec,
                "version": cmd_version}
    if command not in handlers:
        real = {"create", "edit", "patch", "replace", "scale", "label", "annotate", "describe", "logs", "top",
                "port-forward", "proxy", "cp", "auth", "debug", "diff", "kustomize", "config", "taint", "expose",
                "run", "set", "certificate", "cluster-info", "api-resources", "api-versions", "explain", "events",
                "attach", "autoscale"}
        if command in real:
            raise Failure(f'error: kubectl stand-in: "kubectl {command}" is not simulated by the testbed')
        raise Failure(f'error: unknown command "{command}" for "kubectl"\nRun \'kubectl --help\' for usage.')
    return handlers[command](rest)


def parse(args, spec, short=None):
    merged = dict(GLOBAL)
    merged.update(spec)
    shorts = dict(SHORT)
    shorts.update(short or {})
    flags = cli.parse(args, merged, shorts, "\nSee 'kubectl --help' for usage.")
    if flags.get("context"):
        raise Failure("error: kubectl stand-in: --context is not simulated (use the kubeconfig's current context)")
    if flags.get("server"):
        raise Failure("error: kubectl stand-in: --server is not simulated (use --kubeconfig)")
    timeout = flags.get("request-timeout")
    if timeout is not None and not re.match(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$|^\d+$", timeout):
        raise Failure(f'error: invalid argument "{timeout}" for "--request-timeout" flag: time: invalid duration '
                      f'"{timeout}"')
    return flags


# --- connection and credentials ---

class Session:
    def __init__(self, flags):
        path = flags.get("kubeconfig") or os.environ.get("KUBECONFIG") or \
            os.path.join(os.environ.get("HOME", "/root"), ".kube", "config")
        explicit = bool(flags.get("kubeconfig") or os.environ.get("KUBECONFIG"))
        try:
            with open(common.root(path)) as f:
                config = yamlio.load(f.read()) or {}
        except FileNotFoundError:
            if explicit:
                raise Failure(f"error: stat {path}: no such file or directory") from None
            raise Failure("The connection to the server localhost:8080 was refused - did you specify the right "
                          "host or port?") from None
        except yamlio.YAMLError as error:
            raise Failure(f"error: error loading config file \"{path}\": {error}") from None
        try:
            contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
            context = contexts[config["current-context"]]
            clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
            users = {u["name"]: u["user"] for u in config.get("users") or []}
            server = clusters[context["cluster"]]["server"]
            ca = clusters[context["cluster"]].get("certificate-authority-data")
            cert = users[context["user"]].get("client-certificate-data")
        except (KeyError, TypeError):
            raise Failure(f"error: kubectl stand-in: the kubeconfig {path} has no usable current context") from None
        self.server = server
        self.host = server.split("://", 1)[-1].rstrip("/")
        state = cluster.load()
        ok, _ = cluster.api_status(state)
        addresses = ({state["endpoint"]} | set(state.get("controlPlanes", {}).values())) if state else set()
        if not state or not ok or self.host not in addresses:
            raise Failure(f"The connection to the server {self.host} was refused - did you specify the right host "
                          "or port?")
        if not ca or cluster.pem_body(cluster.b64decode(ca)) != cluster.pem_body(state["caCert"]):
            raise Failure("Unable to connect to the server: tls: failed to verify certificate: x509: certificate "
                          "signed by unknown authority")
        identity = state.get("certs", {}).get(cluster.fingerprint(cluster.b64decode(cert))) if cert else None
        if identity is None:
            raise Failure("error: You must be logged in to the server (Unauthorized)")
        self.state = state
        self.user = identity["cn"]
        self.groups = identity.get("o", "")
        self.admin = self.groups in ("kubeadm:cluster-admins", "system:masters")
        self.node = self.user.split("system:node:", 1)[1] if self.groups == "system:nodes" else None
        self.namespace = flags.get("namespace") or "default"

    def forbid(self, verb, resource, name=None, namespace=None, group=""):
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        what = f'{resource} "{name}"' if name else resource
        extra = ""
        if self.node and resource == "nodes":
            extra = f": node '{self.node}' cannot read '{name}', only its own Node object" if name else ""
        raise Failure(f'Error from server (Forbidden): {what} is forbidden: User "{self.user}" cannot {verb} '
                      f'resource "{resource}" in API group "{group}" {scope}{extra}')

    def may(self, verb, resource, name=None, namespace=None, group=""):
        if self.admin:
            return
        if self.node and resource == "nodes" and verb == "get" and name == self.node:
            return
        if not self.node and verb in ("get", "list"):
            return  # controller-manager, scheduler: read access is enough for the stand-in
        self.forbid(verb, resource, name, namespace, group)


# --- resources ---

def resource_info(name, state=None):
    """(plural, group, version, kind, namespaced) for a resource name as kubectl accepts it."""
    lowered = name.lower()
    base, _, group_hint = lowered.partition(".")
    for plural, singular, shorts, group, version, kind, namespaced in RESOURCES:
        if base in (plural, singular, *shorts, kind.lower()) and (not group_hint or group_hint == group):
            return plural, group, version, kind, namespaced
    for crd in cluster.list_objects("CustomResourceDefinition", "apiextensions.k8s.io/v1"):
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        candidates = {names.get("plural"), names.get("singular"), (names.get("kind") or "").lower(),
                      *(names.get("shortNames") or [])}
        if base in candidates and (not group_hint or group_hint == spec.get("group")):
            version = next((v["name"] for v in spec.get("versions") or [] if v.get("storage")), "v1")
            return names.get("plural"), spec.get("group"), version, names.get("kind"), spec.get("scope") == "Namespaced"
    raise Failure(f'error: the server doesn\'t have a resource type "{name}"')


def api_version(group, version):
    return f"{group}/{version}" if group else version


def qualified(plural, group):
    return f"{plural}.{group}" if group else plural


def kind_name(kind, group):
    return f"{kind.lower()}.{group}" if group else kind.lower()


def view(obj):
    """An object as the API server returns it (Node conditions and DaemonSet status are live)."""
    if obj["kind"] == "Node":
        return cluster.node_view(obj)
    if obj["kind"] == "DaemonSet":
        result = json.loads(json.dumps(obj))
        result["status"] = daemonset_status(obj)
        return result
    if obj["kind"] in ("Deployment", "StatefulSet") and obj["apiVersion"] == "apps/v1":
        result = json.loads(json.dumps(obj))
        result["status"] = workloads.deployment_status(obj) if obj["kind"] == "Deployment" else \
            workloads.statefulset_status(obj)
        return result
    return obj


def daemonset_status(ds):
    """The DaemonSet controller's counts. A node counts when the DaemonSet may run there and its kubelet
    is alive; its pod is available when Running on that node at the DaemonSet's generation."""
    spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    generation = ds["metadata"].get("generation", 1)
    nodes = [n for n in cluster.list_objects("Node", "v1") if cluster.schedulable_on(spec, n)]
    alive = {n["metadata"]["name"] for n in nodes if cluster.fresh(cluster.report_for_node(n["metadata"]["name"]))}
    pods = [p for p in cluster.list_objects("Pod", "v1", ds["metadata"]["namespace"])
            if any(o.get("kind") == "DaemonSet" and o.get("name") == ds["metadata"]["name"]
                   for o in p["metadata"].get("ownerReferences") or [])]
    on_nodes = [p for p in pods if p["spec"].get("nodeName") in {n["metadata"]["name"] for n in nodes}]
    updated = [p for p in on_nodes if p["metadata"].get("annotations", {}).get(
        "deprecated.daemonset.template.generation") == str(generation)]
    available = [p for p in updated if p.get("status", {}).get("phase") == "Running" and p["spec"]["nodeName"] in alive]
    return {"currentNumberScheduled": len(on_nodes), "desiredNumberScheduled": len(nodes),
            "numberAvailable": len(available), "numberReady": len(available), "numberMisscheduled": 0,
            "observedGeneration": generation, "updatedNumberScheduled": len(updated),
            "aliveNodes": sorted(alive)}


# --- jsonpath (the subset the stacks use) ---

def jsonpath(template, data):
    out = []
    position = 0
    for match in re.finditer(r"\{([^{}]*)\}", template):
        out.append(template[position:match.start()])
        position = match.end()
        expression = match.group(1).strip()
        if expression.startswith('"') and expression.endswith('"'):
            out.append(json.loads(expression))
            continue
        if expression.startswith(("range", "end")) or expression.split(" ")[0] in ("range", "end"):
            raise Failure(f'error: kubectl stand-in: jsonpath "{{{expression}}}" is not supported '
                          "(supported: {.a.b}, {.items[*].x}, {.list[?(@.k==\"v\")].x}, {\"literal\"})")
        values = evaluate(expression, data)
        out.append(" ".join(render(v) for v in values))
    out.append(template[position:])
    return "".join(out)


_STEP = re.compile(r'\.((?:[A-Za-z0-9_\-]|\\\.)+)|\[\*\]|\.\*|\[(-?\d+)\]|\[\?\(@((?:\.[A-Za-z0-9_\-]+)+)\s*==\s*'
                   r'("[^"]*"|\'[^\']*\'|[^)\]]+)\)\]|\[\'([^\']+)\'\]')


def evaluate(expression, data):
    if expression in (".", "@", "$"):
        return [data]
    text = expression[1:] if expression.startswith(("$", "@")) else expression
    values = [data]
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if not match:
            raise Failure(f'error: error parsing jsonpath {{{expression}}}: kubectl stand-in supports only '
                          f'.field, [*], [N] and [?(@.field=="value")] (at "{text[position:]}")')
        position = match.end()
        name, index, filter_path, literal, quoted = match.groups()
        nxt = []
        for value in values:
            if name is not None or quoted is not None:
                key = name.replace("\\.", ".") if name is not None else quoted
                if isinstance(value, dict) and key in value:
                    nxt.append(value[key])
            elif index is not None:
                if isinstance(value, list) and -len(value) <= int(index) < len(value):
                    nxt.append(value[int(index)])
            elif filter_path is not None:
                wanted = literal.strip()
                wanted = wanted[1:-1] if wanted[:1] in "\"'" else wanted
                if isinstance(value, list):
                    for item in value:
                        found = evaluate(filter_path, item)
                        if found and render(found[0]) == wanted:
                            nxt.append(item)
            else:  # [*]
                if isinstance(value, list):
                    nxt.extend(value)
                elif isinstance(value, dict):
                    nxt.extend(value.values())
        values = nxt
    return values


def render(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if value is None:
        return ""
    return str(value)


# --- output ---

def output_objects(objects, output, single, kind, namespaced, all_namespaces, namespace, headers=True):
    if output in ("json", "yaml"):
        data = objects[0] if single else {"apiVersion": "v1", "items": objects, "kind": "List",
                                          "metadata": {"resourceVersion": ""}}
        print(json.dumps(data, indent=4) if output == "json" else yamlio.dump(data).rstrip())
        return
    if output == "name":
        for obj in objects:
            print(f"{kind_name(obj['kind'], cluster.group_of(obj['apiVersion']))}/{obj['metadata']['name']}")
        return
    if output and (output.startswith("jsonpath=") or output.startswith("jsonpath-as-json=")):
        if output.startswith("jsonpath-as-json="):
            raise Failure("error: kubectl stand-in: jsonpath-as-json is not supported")
        data = objects[0] if single else {"apiVersion": "v1", "items": objects, "kind": "List",
                                          "metadata": {"resourceVersion": ""}}
        sys.stdout.write(jsonpath(output.split("=", 1)[1], data))
        sys.stdout.flush()
        return
    if output not in (None, "", "wide"):
        raise Failure(f"error: unable to match a printer suitable for the output format \"{output}\", allowed "
                      "formats are: json,jsonpath,name,wide,yaml (kubectl stand-in subset)")
    if not objects:
        where = "" if not namespaced else (" in any namespace" if all_namespaces else f" in {namespace} namespace")
        print(f"No resources found{where}.", file=sys.stderr)
        return
    rows = [table_row(obj, output == "wide") for obj in objects]
    header = table_header(kind, output == "wide")
    if namespaced and all_namespaces:
        header = ["NAMESPACE"] + header
        rows = [[obj["metadata"].get("namespace", "")] + row for obj, row in zip(objects, rows)]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in ([header] if headers else []) + rows:
        print("   ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def table_header(kind, wide):
    if kind == "Node":
        return ["NAME", "STATUS", "ROLES", "AGE", "VERSION"] + (
            ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"] if wide else [])
    if kind == "Pod":
        return ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (["IP", "NODE"] if wide else [])
    if kind == "DaemonSet":
        return ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]
    if kind == "Namespace":
        return ["NAME", "STATUS", "AGE"]
    if kind == "ConfigMap":
        return ["NAME", "DATA", "AGE"]
    return ["NAME", "AGE"]


def table_row(obj, wide):
    meta = obj["metadata"]
    created = cluster.age(meta["creationTimestamp"])
    if obj["kind"] == "Node":
        ready = next((c["status"] for c in obj["status"]["conditions"] if c["type"] == "Ready"), "Unknown")
        status = "Ready" if ready == "True" else "NotReady"
        if obj.get("spec", {}).get("unschedulable"):
            status += ",SchedulingDisabled"
        roles = ",".join(sorted(k.split("/", 1)[1] for k in meta.get("labels", {})
                                if k.startswith("node-role.kubernetes.io/"))) or "<none>"
        row = [meta["name"], status, roles, created, obj["status"]["nodeInfo"]["kubeletVersion"]]
        if wide:
            address = next((a["address"] for a in obj["status"]["addresses"] if a["type"] == "InternalIP"), "<none>")
            info = obj["status"]["nodeInfo"]
            row += [address, "<none>", info["osImage"], info["kernelVersion"], info["containerRuntimeVersion"]]
        return row
    if obj["kind"] == "Pod":
        statuses = obj.get("status", {}).get("containerStatuses") or []
        ready = sum(1 for s in statuses if s.get("ready"))
        phase = obj.get("status", {}).get("phase", "Pending")
        if phase != "Running":
            waiting = [s["state"]["waiting"]["reason"] for s in statuses if "waiting" in s.get("state", {})]
            phase = waiting[0] if waiting else phase
        row = [meta["name"], f"{ready}/{len(statuses)}", phase, "0", created]
        if wide:
            row += [obj.get("status", {}).get("podIP", "<none>"), obj["spec"].get("nodeName", "<none>")]
        return row
    if obj["kind"] == "DaemonSet":
        status = obj["status"]
        selector = ",".join(f"{k}={v}" for k, v in (obj["spec"]["template"]["spec"].get("nodeSelector") or {}).items())
        return [meta["name"], status["desiredNumberScheduled"], status["currentNumberScheduled"],
                status["numberReady"], status["updatedNumberScheduled"], status["numberAvailable"],
                selector or "<none>", created]
    if obj["kind"] == "Namespace":
        return [meta["name"], "Active", created]
    if obj["kind"] == "ConfigMap":
        return [meta["name"], len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), created]
    return [meta["name"], created]


# --- get ---

def cmd_get(args):
    flags = parse(args, {"raw": "value", "selector": "value", "show-labels": "bool", "ignore-not-found": "bool",
                         "watch": "bool", "field-selector": "value", "no-headers": "bool"},
                  {"l": "selector", "w": "watch"})
    if flags.get("watch") or flags.get("field-selector"):
        raise Failure("error: kubectl stand-in: --watch and --field-selector are not simulated")
    session = Session(flags)
    if "raw" in flags:
        raw = flags.get("raw")
        if raw in ("/readyz", "/livez", "/healthz"):
            print("ok")
            return 0
        if raw == "/version":
            print(json.dumps(server_version(), indent=2))
            return 0
        raise Failure(f"error: kubectl stand-in: --raw {raw} is not simulated (/readyz, /livez, /healthz, /version)")
    targets = flags.positional
    if not targets:
        raise Failure("You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete "
                      "list of supported resources.\n\nerror: Required resource not specified.")
    if "/" in targets[0]:
        pairs = [t.split("/", 1) for t in targets]
    else:
        pairs = [(targets[0], name) for name in targets[1:]] or [(targets[0], None)]
    if len({p[0] for p in pairs}) > 1 or "," in targets[0]:
        raise Failure("error: kubectl stand-in: one resource type per get")
    plural, group, version, kind, namespaced = resource_info(pairs[0][0])
    namespace = None if not namespaced else (None if flags.get("all-namespaces") else session.namespace)
    objects = []
    single = len(pairs) == 1 and pairs[0][1] is not None
    for _, name in pairs:
        if name is None:
            session.may("list", plural, None, namespace, group)
            objects = cluster.list_objects(kind, api_version(group, version), namespace if namespaced else None)
            if flags.get("selector"):
                selector = parse_selector(flags.get("selector"))
                objects = [o for o in objects if cluster.selector_matches(selector, o["metadata"].get("labels") or {})]
        else:
            session.may("get", plural, name, namespace, group)
            obj = cluster.get(kind, api_version(group, version), namespace if namespaced else None, name)
            if obj is None:
                if flags.get("ignore-not-found"):
                    continue
                raise Failure(f'Error from server (NotFound): {qualified(plural, group)} "{name}" not found')
            objects.append(obj)
    objects = [view(o) for o in objects]
    output_objects(objects, flags.get("output"), single, kind, namespaced, bool(flags.get("all-namespaces")),
                   session.namespace, headers=not flags.get("no-headers"))
    return 0


def parse_selector(text):
    selector = {"matchLabels": {}, "matchExpressions": []}
    for part in text.split(","):
        if "!=" in part:
            key, value = part.split("!=", 1)
            selector["matchExpressions"].append({"key": key, "operator": "NotIn", "values": [value]})
        elif "=" in part:
            key, value = part.replace("==", "=").split("=", 1)
            selector["matchLabels"][key] = value
        elif part.startswith("!"):
            selector["matchExpressions"].append({"key": part[1:], "operator": "DoesNotExist"})
        else:
            selector["matchExpressions"].append({"key": part, "operator": "Exists"})
    return selector


def server_version():
    return {"major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36", "minCompatibilityMajor": "1",
            "minCompatibilityMinor": "35", "gitVersion": cluster.VERSION, "gitCommit": "testbed-stand-in",
            "gitTreeState": "clean", "buildDate": "2026-08-12T00:00:00Z", "goVersion": "go1.25.9",
            "compiler": "gc", "platform": "linux/amd64"}


# --- version ---

def cmd_version(args):
    flags = parse(args, {"client": "bool"})
    info = dict(server_version())
    del info["emulationMajor"], info["emulationMinor"], info["minCompatibilityMajor"], info["minCompatibilityMinor"]
    output = flags.get("output")
    if flags.get("client"):
        if output == "json":
            print(json.dumps({"clientVersion": info, "kustomizeVersion": "v5.7.1"}, indent=2))
        elif output == "yaml":
            print(yamlio.dump({"clientVersion": info, "kustomizeVersion": "v5.7.1"}).rstrip())
        elif output:
            raise Failure(f"error: --output must be 'yaml' or 'json'")
        else:
            print(f"Client Version: {cluster.VERSION}\nKustomize Version: v5.7.1")
        return 0
    print(f"Client Version: {cluster.VERSION}\nKustomize Version: v5.7.1")
    Session(flags)
    print(f"Server Version: {cluster.VERSION}")
    return 0


# --- apply ---

def read_manifests(files, stdin_text=None):
    documents = []
    for name in files:
        if name == "-":
            text = stdin_text if stdin_text is not None else sys.stdin.read()
        else:
            path = common.root(name)
            if os.path.isdir(path):
                raise Failure("error: kubectl stand-in: apply -f DIRECTORY is not simulated; name the files")
            try:
                with open(path) as f:
                    text = f.read()
            except FileNotFoundError:
                raise Failure(f'error: the path "{name}" does not exist') from None
        try:
            docs = yamlio.load_all(text)
        except yamlio.YAMLError as error:
            raise Failure(f'error: error parsing {name}: error converting YAML to JSON: {error}') from None
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
                documents.extend((name, item) for item in doc["items"])
            else:
                documents.append((name, doc))
    return documents


def package_root():
    """The folder (or zipapp) holding the standins package, for the validator child's sys.path."""
    import standins
    return os.path.dirname(os.path.dirname(os.path.abspath(standins.__file__)))


def validate_schemas(documents, schemas=None, strict=True):
    """kubernetes-validate for built-in kinds and the CRD's schema (crdvalidate.py) for custom resources, in
    one child run of the pinned test venv. ``schemas[i]`` is the openAPIV3Schema of document i's CRD or None."""
    schemas = schemas or [None] * len(documents)
    payload = json.dumps({"strict": strict, "objects": [{"object": doc, "crd": schema}
                                                        for (_, doc), schema in zip(documents, schemas)]})
    starter = (f"import sys; sys.path.insert(0, {package_root()!r}); "
               "from standins import validate_child; validate_child.main()")
    try:
        result = subprocess.run([VALIDATOR_PYTHON, "-c", starter, VALIDATE_VERSION], input=payload,
                                capture_output=True, text=True)
    except FileNotFoundError:
        raise Failure(f"error: kubectl stand-in: {VALIDATOR_PYTHON} is missing; create it with "
                      "scripts/install-dependencies (kubernetes-validate and jsonschema, pinned)") from None
    if result.returncode != 0:
        raise Failure(f"error: kubectl stand-in: the validator failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def crd_schema(crd, version):
    for entry in (crd.get("spec") or {}).get("versions") or []:
        if entry.get("name") == version:
            return ((entry.get("schema") or {}).get("openAPIV3Schema")) or {"type": "object",
                                                                             "x-kubernetes-preserve-unknown-fields": True}
    return None


def invalid_message(kind, name, errors):
    """kubectl's rendering of the API server's 422 Invalid with its causes."""
    if len(errors) == 1:
        return f'The {kind} "{name}" is invalid: {errors[0]}'
    return f'The {kind} "{name}" is invalid: \n' + "\n".join(f"* {e}" for e in errors)


class Invalid(Failure):
    """A refused object: ``message`` as kubectl prints it; ``bare`` the error itself as another client (helm)
    shows it; ``server`` True when the API server refuses it (a client-side check otherwise)."""

    def __init__(self, message, bare, server):
        super().__init__(message)
        self.bare = bare
        self.server = server


def validate_documents(documents, strict=True, verb="creating"):
    """Checks every document as kubectl apply and the API server would, before any is stored: the built-in
    schemas, and for a custom resource the schema of its CRD, which must exist in the cluster (else "no matches
    for kind"). Returns [(source, object to store, warnings)]: custom resources come back pruned and defaulted.
    ``strict``: field validation Strict (kubectl's default) refuses unknown fields, else they are dropped with
    a warning (helm, which asks for no field validation: the API server's default Warn)."""
    for name, doc in documents:
        check_document(name, doc)
    schemas = []
    for name, doc in documents:
        crd = crd_for(doc) if doc["kind"] != "CustomResourceDefinition" else None
        schemas.append(crd_schema(crd, doc["apiVersion"].rpartition("/")[2]) if crd else None)
    results = validate_schemas(documents, schemas, strict)
    checked = []
    for (name, doc), result, schema in zip(documents, results, schemas):
        kind, meta_name = doc["kind"], doc["metadata"]["name"]
        version = doc["apiVersion"].rpartition("/")[2]
        if result["result"] == "standin":
            raise Failure(f"error: kubectl stand-in: {result['message']}")
        if result["result"] == "error":
            path = ".".join([kind] + [p for p in result["path"] if not p.isdigit()])
            bare = f'error validating "{name}": error validating data: ValidationError({path}): {result["message"]}'
            raise Invalid(f"error: {bare}; if you choose to ignore these errors, turn validation off with "
                          "--validate=false", bare, False)
        if result["result"] == "unknown":
            fields = ", ".join(f'unknown field "{f}"' for f in result["fields"])
            bare = f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: {fields}'
            raise Invalid(f'Error from server (BadRequest): error when {verb} "{name}": {bare}', bare, True)
        if result["result"] == "invalid":
            errors = result["errors"]
            group = doc["apiVersion"].rpartition("/")[0]
            bare = f'{kind}.{group} "{meta_name}" is invalid: ' + (errors[0] if len(errors) == 1 else
                                                                   "[" + ", ".join(errors) + "]")
            raise Invalid(invalid_message(kind, meta_name, errors), bare, True)
        if result["result"] == "no-schema" and doc["kind"] != "CustomResourceDefinition" and schema is None:
            applied_crd = any(d.get("kind") == "CustomResourceDefinition" and
                              ((d.get("spec") or {}).get("names") or {}).get("kind") == doc["kind"] and
                              (d.get("spec") or {}).get("group") == doc["apiVersion"].rpartition("/")[0]
                              for _, d in documents)
            hint = "" if not applied_crd else " (the CRD in this apply is not established yet: apply it first)"
            bare = (f'resource mapping not found for name: "{meta_name}" namespace: '
                    f'"{(doc.get("metadata") or {}).get("namespace", "")}" from "{name}": no matches for kind '
                    f'"{kind}" in version "{doc["apiVersion"]}"\nensure CRDs are installed first')
            raise Invalid(f"error: {bare}{hint}", bare, False)
        problem = template_labels_match(doc)
        if problem:
            raise Failure(problem)
        checked.append((name, result.get("object", doc), result.get("warnings") or []))
    return checked


def check_document(name, doc):
    if not isinstance(doc, dict):
        raise Failure(f'error: error validating "{name}": error validating data: invalid object; if you choose to '
                      "ignore these errors, turn validation off with --validate=false")
    for field in ("apiVersion", "kind"):
        if not doc.get(field):
            raise Failure(f'error: error validating "{name}": error validating data: {field} not set; if you '
                          "choose to ignore these errors, turn validation off with --validate=false")
    if not (doc.get("metadata") or {}).get("name"):
        raise Failure(f'error: error when retrieving current configuration of:\nResource: "{doc["kind"]}", Name: "", '
                      f'Namespace: ""\nfrom server for: "{name}": resource name may not be empty')


def crd_for(doc):
    group, _, version = doc["apiVersion"].rpartition("/")
    for crd in cluster.list_objects("CustomResourceDefinition", "apiextensions.k8s.io/v1"):
        spec = crd.get("spec") or {}
        if spec.get("group") == group and (spec.get("names") or {}).get("kind") == doc["kind"] and \
                any(v.get("name") == version and v.get("served", True) for v in spec.get("versions") or []):
            return crd
    return None


def template_labels_match(doc):
    if doc["kind"] not in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet") or \
            not doc["apiVersion"].startswith("apps/"):
        return None
    spec = doc.get("spec") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not cluster.selector_matches(spec.get("selector") or {}, labels):
        shown = "map[string]string{" + ", ".join(f'"{k}":"{v}"' for k, v in sorted(labels.items())) + "}"
        return (f'The {doc["kind"]} "{doc["metadata"]["name"]}" is invalid: spec.template.metadata.labels: Invalid '
                f"value: {shown}: `selector` does not match template `labels`")
    return None


def cmd_apply(args):
    flags = parse(args, {"filename": "list", "server-side": "bool", "force-conflicts": "bool", "validate": "value",
                         "dry-run": "value", "field-manager": "value", "prune": "bool", "recursive": "bool",
                         "wait": "bool", "kustomize": "value"}, {"f": "filename", "k": "kustomize", "R": "recursive"})
    if flags.get("kustomize") or flags.get("prune") or flags.get("recursive") or flags.get("dry-run"):
        raise Failure("error: kubectl stand-in: -k, --prune, -R and --dry-run are not simulated")
    if flags.get("validate") not in (None, "true", "strict"):
        raise Failure("error: kubectl stand-in: validation cannot be turned off (the testbed validates every object)")
    if flags.get("force-conflicts") and not flags.get("server-side"):
        raise Failure("error: --force-conflicts only works with --server-side")
    files = flags.get("filename") or []
    if not files:
        raise Failure("error: must specify one of -f and -k")
    session = Session(flags)
    documents = read_manifests(files)
    if not documents:
        raise Failure("error: no objects passed to apply")
    # Every object is validated before any is stored: one invalid object stops the whole apply.
    checked = validate_documents(documents)
    failed = False
    for (name, doc), (_, stored, warnings) in zip(documents, checked):
        for warning in warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        try:
            print(apply_one(session, doc, flags.get("server-side"), name, stored=stored))
        except Failure as failure:
            print(failure.message, file=sys.stderr)
            failed = True
    return 1 if failed else 0


def scope_of(doc):
    if doc["kind"] in cluster.CLUSTER_SCOPED:
        return False
    crd = crd_for(doc)
    if crd is not None:
        return (crd.get("spec") or {}).get("scope") == "Namespaced"
    return True


def apply_one(session, doc, server_side, source, stored=None, annotate=True, verb="creating"):
    """Stores one object as its apply does. ``stored``: the object as validation returned it (a custom resource
    pruned and defaulted), else ``doc``; the last-applied annotation is ``doc`` as given (kubectl client-side
    apply; ``annotate`` False for helm, which keeps no such annotation)."""
    given = json.loads(json.dumps(doc))
    doc = json.loads(json.dumps(stored if stored is not None else doc))
    group = cluster.group_of(doc["apiVersion"])
    label = kind_name(doc["kind"], group)
    meta = doc.setdefault("metadata", {})
    namespaced = scope_of(doc)
    if namespaced:
        meta["namespace"] = meta.get("namespace") or session.namespace
    else:
        meta.pop("namespace", None)
    plural = doc["kind"].lower() + "s"
    with common.locked():
        session.may("patch", plural, meta["name"], meta.get("namespace"), group)
        if namespaced and not cluster.get("Namespace", "v1", None, meta["namespace"]):
            raise Failure(f'Error from server (NotFound): error when {verb} "{source}": namespaces '
                          f'"{meta["namespace"]}" not found')
        current = cluster.get(doc["kind"], doc["apiVersion"], meta.get("namespace"), meta["name"])
        if not server_side and annotate:
            annotations = meta.setdefault("annotations", {})
            annotations.pop(LAST_APPLIED, None)
            given_meta = given.setdefault("metadata", {})
            given_meta.setdefault("annotations", {}).pop(LAST_APPLIED, None)
            if not given_meta["annotations"]:
                del given_meta["annotations"]
            if namespaced:
                given_meta["namespace"] = meta["namespace"]
            applied = json.dumps(given, separators=(",", ":"), sort_keys=True)
            total = len(applied) + sum(len(k) + len(v) for k, v in annotations.items())
            if total > ANNOTATION_LIMIT:
                raise Failure(f'The {doc["kind"]} "{meta["name"]}" is invalid: metadata.annotations: Too long: may '
                              f"not be more than {ANNOTATION_LIMIT} bytes")
            annotations[LAST_APPLIED] = applied + "\n"
        if current is not None:
            comparable = {k: v for k, v in current.items() if k not in ("status",)}
            old_meta = dict(comparable.get("metadata") or {})
            for key in ("uid", "creationTimestamp", "resourceVersion", "generation", "managedFields"):
                old_meta.pop(key, None)
            comparable["metadata"] = old_meta
            if comparable == doc:
                return f"{label}/{meta['name']} {'serverside-applied' if server_side else 'unchanged'}"
            if "status" in current:
                doc["status"] = current["status"]
        if doc["kind"] == "Namespace":
            doc.setdefault("spec", {"finalizers": ["kubernetes"]})
            doc["status"] = {"phase": "Active"}
        if doc["kind"] == "CustomResourceDefinition":
            doc["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
        cluster.put(doc)
    if server_side:
        return f"{label}/{meta['name']} serverside-applied"
    return f"{label}/{meta['name']} {'configured' if current is not None else 'created'}"


# --- delete, cordon, drain ---

def cmd_delete(args):
    flags = parse(args, {"ignore-not-found": "bool", "filename": "list", "wait": "bool", "force": "bool",
                         "grace-period": "value", "timeout": "value"}, {"f": "filename"})
    session = Session(flags)
    if flags.get("filename"):
        targets = []
        for _, doc in read_manifests(flags.get("filename")):
            check_document("", doc)
            targets.append((doc["kind"], doc["apiVersion"], scope_of(doc),
                            (doc.get("metadata") or {}).get("namespace") or session.namespace, doc["metadata"]["name"]))
    else:
        words = flags.positional
        if not words:
            raise Failure("error: You must provide one or more resources by argument or filename.")
        pairs = [w.split("/", 1) for w in words] if "/" in words[0] else [(words[0], n) for n in words[1:]]
        if not pairs:
            raise Failure(f'error: resource(s) were provided, but no name was specified')
        targets = []
        for resource, name in pairs:
            plural, group, version, kind, namespaced = resource_info(resource)
            targets.append((kind, api_version(group, version), namespaced, session.namespace, name))
    failed = False
    for kind, version, namespaced, namespace, name in targets:
        group = cluster.group_of(version)
        plural = kind.lower() + "s"
        session.may("delete", plural, name, namespace if namespaced else None, group)
        with common.locked():
            deleted = cluster.delete(kind, version, namespace if namespaced else None, name)
            if deleted and kind == "Node":
                # the pod garbage collector removes the pods bound to a deleted Node
                for pod in cluster.list_objects("Pod", "v1"):
                    if pod["spec"].get("nodeName") == name:
                        cluster.delete("Pod", "v1", pod["metadata"]["namespace"], pod["metadata"]["name"])
            if deleted and kind == "Namespace":
                import shutil
                for base in os.listdir(os.path.join(cluster.directory(), "objects")):
                    shutil.rmtree(os.path.join(cluster.directory(), "objects", base, name), ignore_errors=True)
        if deleted:
            print(f'{kind_name(kind, group)} "{name}" deleted' + (f" from {namespace} namespace" if namespaced else ""))
        elif not flags.get("ignore-not-found"):
            print(f'Error from server (NotFound): {qualified(plural, group)} "{name}" not found', file=sys.stderr)
            failed = True
    return 1 if failed else 0


def set_unschedulable(session, name, value):
    session.may("patch", "nodes", name)
    with common.locked():
        node = cluster.get("Node", "v1", None, name)
        if node is None:
            raise Failure(f'Error from server (NotFound): nodes "{name}" not found')
        already = bool(node.get("spec", {}).get("unschedulable")) == value
        if not already:
            if value:
                node.setdefault("spec", {})["unschedulable"] = True
            else:
                node.get("spec", {}).pop("unschedulable", None)
            cluster.put(node)
    verb = "cordoned" if value else "uncordoned"
    print(f"node/{name} {'already ' + verb if already else verb}")


def cmd_cordon(args):
    flags = parse(args, {})
    session = Session(flags)
    for name in flags.positional:
        set_unschedulable(session, name, True)
    return 0


def cmd_uncordon(args):
    flags = parse(args, {})
    session = Session(flags)
    for name in flags.positional:
        set_unschedulable(session, name, False)
    return 0


def cmd_drain(args):
    flags = parse(args, {"ignore-daemonsets": "bool", "delete-emptydir-data": "bool", "force": "bool",
                         "timeout": "value", "grace-period": "value", "disable-eviction": "bool",
                         "skip-wait-for-delete-timeout": "value", "pod-selector": "value"})
    session = Session(flags)
    if len(flags.positional) != 1:
        raise Failure("error: USAGE: drain NODE [flags]\nSee 'kubectl drain -h' for help and examples")
    name = flags.positional[0]
    set_unschedulable(session, name, True)
    pods = [p for p in cluster.list_objects("Pod", "v1") if p["spec"].get("nodeName") == name]
    daemonset, unmanaged, local, evict = [], [], [], []
    for pod in pods:
        meta = pod["metadata"]
        label = f"{meta['namespace']}/{meta['name']}"
        if (meta.get("annotations") or {}).get(cluster.MIRROR):
            continue  # mirror pods of static pods are not drained
        owners = meta.get("ownerReferences") or []
        if any(o.get("kind") == "DaemonSet" for o in owners):
            daemonset.append(label)
            continue
        if not owners:
            unmanaged.append(label)
        if any("emptyDir" in v for v in pod["spec"].get("volumes") or []):
            local.append(label)
        evict.append(pod)
    problems = []
    if daemonset and not flags.get("ignore-daemonsets"):
        problems.append(f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
                        f"{', '.join(daemonset)}")
    if unmanaged and not flags.get("force"):
        problems.append(f"cannot delete Pods that declare no controller (use --force to override): "
                        f"{', '.join(unmanaged)}")
    if local and not flags.get("delete-emptydir-data"):
        problems.append(f"cannot delete Pods with local storage (use --delete-emptydir-data to override): "
                        f"{', '.join(local)}")
    if problems:
        raise Failure(f'error: unable to drain node "{name}" due to error: {", ".join(problems)}, continuing '
                      f"command...\nThere are pending nodes to be drained:\n {name}\n" + "\n".join(problems))
    if daemonset:
        print(f"Warning: ignoring DaemonSet-managed Pods: {', '.join(daemonset)}", file=sys.stderr)
    for pod in evict:
        print(f"evicting pod {pod['metadata']['namespace']}/{pod['metadata']['name']}")
    with common.locked():
        for pod in evict:
            cluster.delete("Pod", "v1", pod["metadata"]["namespace"], pod["metadata"]["name"])
    for pod in evict:
        print(f"pod/{pod['metadata']['name']} evicted")
    print(f"node/{name} drained")
    return 0


# --- rollout status, wait ---

def timeout_seconds(text, default):
    if text is None:
        return default
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", text)
    if text.isdigit():
        return float(text)
    if not match or not text:
        raise Failure(f'error: invalid argument "{text}" for "--timeout" flag: time: invalid duration "{text}"')
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def rollout_restart(session, targets):
    """As kubectl does: a restartedAt annotation on the pod template, so the controller replaces the pods."""
    if len(targets) != 1 or "/" not in targets[0]:
        raise Failure("error: kubectl stand-in: rollout restart takes one KIND/NAME")
    resource, name = targets[0].split("/", 1)
    plural, group, version, kind, namespaced = resource_info(resource)
    if kind not in ("Deployment", "StatefulSet", "DaemonSet"):
        raise Failure(f'error: {qualified(plural, group)} "{name}" restarting is not supported')
    session.may("patch", plural, name, session.namespace, group)
    with common.locked():
        obj = cluster.get(kind, "apps/v1", session.namespace, name)
        if obj is None:
            raise Failure(f'Error from server (NotFound): {qualified(plural, group)} "{name}" not found')
        template = obj.setdefault("spec", {}).setdefault("template", {})
        annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
        annotations["kubectl.kubernetes.io/restartedAt"] = cluster.timestamp()
        obj["metadata"]["generation"] = int(obj["metadata"].get("generation", 1)) + 1
        cluster.put(obj)
    print(f"{kind_name(kind, group)}/{name} restarted")
    return 0


def cmd_rollout(args):
    flags = parse(args, {"timeout": "value", "watch": "bool", "revision": "value"}, {"w": "watch"})
    words = flags.positional
    if not words or words[0] not in ("status", "restart"):
        raise Failure('error: kubectl stand-in: only "kubectl rollout status|restart" is simulated')
    session = Session(flags)
    targets = words[1:]
    if words[0] == "restart":
        return rollout_restart(session, targets)
    if len(targets) == 1 and "/" in targets[0]:
        resource, name = targets[0].split("/", 1)
    elif len(targets) == 2:
        resource, name = targets
    else:
        raise Failure("error: required resource not specified")
    plural, group, version, kind, namespaced = resource_info(resource)
    if kind in ("Deployment", "StatefulSet"):
        return workload_rollout(session, flags, plural, group, kind, name)
    if kind != "DaemonSet":
        raise Failure(f'error: kubectl stand-in: rollout status of {qualified(plural, group)} is not simulated '
                      "(daemonsets, deployments, statefulsets)")
    session.may("get", plural, name, session.namespace, group)
    deadline = time.monotonic() + timeout_seconds(flags.get("timeout"), 0) if flags.get("timeout") else None
    last = None
    while True:
        ds = cluster.get("DaemonSet", "apps/v1", session.namespace, name)
        if ds is None:
            raise Failure(f'Error from server (NotFound): daemonsets.apps "{name}" not found')
        status = daemonset_status(ds)
        needed = len(status["aliveNodes"])
        if status["updatedNumberScheduled"] >= needed and status["numberAvailable"] >= needed and needed > 0 or \
                (needed == 0 and status["desiredNumberScheduled"] == 0):
            print(f'daemon set "{name}" successfully rolled out')
            return 0
        if status["updatedNumberScheduled"] < needed:
            message = (f'Waiting for daemon set "{name}" rollout to finish: {status["updatedNumberScheduled"]} out of '
                       f'{needed} new pods have been updated...')
        else:
            message = (f'Waiting for daemon set "{name}" rollout to finish: {status["numberAvailable"]} of {needed} '
                       "updated pods are available...")
        if message != last:
            print(message, flush=True)
            last = message
        if flags.get("watch") is False:
            return 0
        if deadline is not None and time.monotonic() >= deadline:
            raise Failure("error: timed out waiting for the condition")
        time.sleep(0.2)


def workload_rollout(session, flags, plural, group, kind, name):
    """rollout status of a Deployment or StatefulSet (workloads.py: the kubelets run their pods)."""
    session.may("get", plural, name, session.namespace, group)
    deadline = time.monotonic() + timeout_seconds(flags.get("timeout"), 0) if flags.get("timeout") else None
    last = None
    while True:
        obj = cluster.get(kind, "apps/v1", session.namespace, name)
        if obj is None:
            raise Failure(f'Error from server (NotFound): {plural}.apps "{name}" not found')
        done, message = workloads.rollout(obj)
        if done:
            print(message)
            return 0
        if message != last:
            print(message, flush=True)
            last = message
        if flags.get("watch") is False:
            return 0
        if deadline is not None and time.monotonic() >= deadline:
            raise Failure("error: timed out waiting for the condition")
        time.sleep(0.2)


def cmd_wait(args):
    flags = parse(args, {"for": "value", "timeout": "value", "all": "bool", "selector": "value"}, {"l": "selector"})
    session = Session(flags)
    condition = flags.get("for") or ""
    match = re.fullmatch(r"condition=([A-Za-z]+)(?:=(\w+))?", condition)
    if not match:
        raise Failure(f'error: kubectl stand-in: --for={condition} is not simulated (condition=NAME[=VALUE])')
    wanted_type, wanted_status = match.group(1), match.group(2) or "True"
    targets = flags.positional
    pairs = [t.split("/", 1) for t in targets] if targets and "/" in targets[0] else \
        [(targets[0], n) for n in targets[1:]] if targets else []
    if flags.get("all") and len(targets) == 1 and "/" not in targets[0]:
        # `wait --for=... nodes --all`: every object of the kind that exists now, as kubectl resolves it.
        plural, group, version, kind, namespaced = resource_info(targets[0])
        session.may("list", plural, None, session.namespace if namespaced else None, group)
        pairs = [(targets[0], obj["metadata"]["name"]) for obj in
                 cluster.list_objects(kind, api_version(group, version), session.namespace if namespaced else None)]
        if not pairs:
            raise Failure("error: no matching resources found")
    if not pairs:
        raise Failure("error: resource(s) were provided, but no name was specified")
    timeout = timeout_seconds(flags.get("timeout"), 30)
    deadline = time.monotonic() + timeout
    for resource, name in pairs:
        plural, group, version, kind, namespaced = resource_info(resource)
        session.may("get", plural, name, session.namespace if namespaced else None, group)
        while True:
            obj = cluster.get(kind, api_version(group, version), session.namespace if namespaced else None, name)
            if obj is None:
                raise Failure(f'Error from server (NotFound): {qualified(plural, group)} "{name}" not found')
            conditions = (view(obj).get("status") or {}).get("conditions") or []
            if any(c.get("type", "").lower() == wanted_type.lower() and c.get("status") == wanted_status
                   for c in conditions):
                print(f"{kind_name(kind, group)}/{name} condition met")
                break
            if time.monotonic() >= deadline:
                raise Failure(f"error: timed out waiting for the condition on {qualified(plural, group)}/{name}")
            time.sleep(0.2)
    return 0


# --- exec: etcdctl in an etcd static pod ---

def cmd_exec(args):
    flags = parse(args, {"container": "value", "stdin": "bool", "tty": "bool", "quiet": "bool"},
                  {"c": "container", "i": "stdin", "t": "tty", "q": "quiet"})
    command = flags.after_dash
    if not flags.positional:
        raise Failure("error: pod, type/name or --filename must be specified")
    if not command:
        raise Failure("error: you must specify at least one command for the container")
    session = Session(flags)
    pod_name = flags.positional[0].split("/", 1)[-1]
    session.may("create", "pods/exec", pod_name, session.namespace)
    pod = cluster.get("Pod", "v1", session.namespace, pod_name)
    if pod is None:
        raise Failure(f'Error from server (NotFound): pods "{pod_name}" not found')
    node = pod["spec"].get("nodeName")
    report = cluster.report_for_node(node)
    if not cluster.fresh(report) or report.get("staticPods", {}).get("etcd") != "Running":
        raise Failure(f"error: unable to upgrade connection: container not found (\"etcd\")")
    if os.path.basename(command[0]) != "etcdctl" or not pod_name.startswith("etcd-"):
        raise Failure(f"error: kubectl stand-in: exec of {command[0]!r} in {pod_name} is not simulated "
                      "(etcdctl in an etcd pod only)")
    code = etcdctl(command[1:], node, pod)
    if code:
        print(f"command terminated with exit code {code}", file=sys.stderr)
    return code


ETCD_FLAGS = {"endpoints": "value", "cacert": "value", "cert": "value", "key": "value", "write-out": "value",
              "command-timeout": "value", "dial-timeout": "value", "hex": "bool", "insecure-skip-tls-verify": "bool"}


def etcdctl(args, node, pod):
    try:
        flags = cli.parse(args, ETCD_FLAGS, {"w": "write-out"})
    except Failure as failure:
        print(f"Error: {failure.message}", file=sys.stderr)
        return 1
    words = flags.positional
    mounts = {m["mountPath"].rstrip("/") for c in pod["spec"].get("containers") or [] for m in c.get("volumeMounts") or []}
    for flag in ("cacert", "cert", "key"):
        path = flags.get(flag)
        if path and os.path.dirname(path) not in mounts:
            print(f"Error: open {path}: no such file or directory", file=sys.stderr)
            return 1
    if not (flags.get("cacert") and flags.get("cert") and flags.get("key")):
        # etcd runs with --client-cert-auth: without a client certificate the TLS handshake fails
        print('{"level":"warn","msg":"retrying of unary invoker failed","error":"rpc error: code = DeadlineExceeded '
              'desc = latest balancer error: last connection error: connection error: desc = \\"error reading server '
              'preface: EOF\\""}\nError: context deadline exceeded', file=sys.stderr)
        return 1
    with common.locked():
        state = cluster.load()
        members = state["etcd"]["members"]
        self_member = next((m for m in members if m["name"] == node), members[0] if members else None)
        if words[:2] == ["member", "list"]:
            output = flags.get("write-out", "simple")
            if output == "json":
                header = {"cluster_id": state["etcd"]["clusterID"], "member_id": self_member["ID"] if self_member else 0,
                          "raft_term": 2 + len(members)}
                print(json.dumps({"header": header, "members": members}, separators=(",", ":")))
            elif output in ("simple", "table"):
                for m in members:
                    print(f"{m['ID']:x}, started, {m['name']}, {','.join(m['peerURLs'])}, "
                          f"{','.join(m['clientURLs'])}, false")
            else:
                print(f'Error: unsupported output format "{output}" (stand-in: json, simple, table)', file=sys.stderr)
                return 1
            return 0
        if words[:2] == ["member", "remove"] and len(words) == 3:
            try:
                wanted = int(words[2], 16)
            except ValueError:
                print(f'Error: bad member ID arg (strconv.ParseUint: parsing "{words[2]}": invalid syntax), expecting '
                      "ID in Hex", file=sys.stderr)
                return 1
            if not any(m["ID"] == wanted for m in members):
                print("Error: etcdserver: member not found", file=sys.stderr)
                return 1
            state["etcd"]["members"] = [m for m in members if m["ID"] != wanted]
            cluster.save(state)
            print(f"Member {wanted:16x} removed from cluster {state['etcd']['clusterID']:16x}")
            return 0
    print(f"Error: etcdctl stand-in: {' '.join(words) or '(nothing)'} is not simulated (member list, member remove)",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
