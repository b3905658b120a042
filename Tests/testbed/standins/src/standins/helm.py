"""helm stand-in (Helm v3.22.0): installs charts into the simulated cluster (cluster.py) for the stacks.

    helm version [--short]
    helm upgrade --install REL CHART -n NS [--create-namespace] [-f VALUES]... [--set K=V]... [--wait]
         [--timeout D] [--kubeconfig F]          (also `helm install REL CHART ...` and plain `helm upgrade`)
    helm status REL -n NS [-o json|yaml|table]
    helm list -n NS [-o json|yaml|table] [-a]
    helm get values REL -n NS [-o json|yaml|table] [--all]
    helm uninstall REL -n NS [--keep-history] [--wait]

As strict as helm where it acts: the chart archive is loaded as helm's loader does (a gzip tar whose members
sit under one top folder, Chart.yaml with apiVersion, name and a semver version, values.yaml if any, chart
type, vendored dependencies, kubeVersion against the cluster's), values files must be YAML maps, the merged
values must satisfy the chart's values.schema.json (jsonschema, in the pinned test venv), the release
namespace must exist unless --create-namespace, an existing object not owned by the release is not taken
over (helm's ownership labels and annotations), a release in a pending state blocks the next upgrade.
Releases are stored as helm stores them: Secrets `sh.helm.release.v1.REL.vN` of type helm.sh/release.v1 in
the release namespace, labels name/owner/status/version, data.release = base64(gzip(JSON release)).

What it cannot do is render Go templates. Instead:
- a chart made for the testbed declares its objects in `islet-standin/objects.yaml` (see STANDIN_DSL below:
  a small, explicit subset of what templates do: `{{ .Values.x | default .Chart.AppVersion }}`, `$if`,
  `$merge`, `$include`), and its templates/ are ignored;
- any other chart is installed from its plain YAML files under templates/ (a file using `{{ ... }}` is
  refused: it would need rendering) and crds/.
Every object goes through the same checks as `kubectl apply` (kubectl.validate_documents and apply_one:
built-in schemas with kubernetes-validate, custom resources against their CRD's schema), except that helm
asks for no field validation, so unknown fields are dropped with a warning, as the API server does. The
stand-in checks every object before creating any: an object the API server would refuse marks the release
failed with nothing created (real helm would have created the objects before it).
`--wait` waits until the release's Deployments, StatefulSets and DaemonSets run their pods (workloads.py,
the kubelet stand-ins), as helm's waiter does; a timeout marks the release failed.
"""

import base64
import copy
import datetime
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time

from . import cli, cluster, common, kubectl, workloads, yamlio
from .cli import Failure

VERSION = "v3.22.0"
GIT_COMMIT = "0" * 40  # a stand-in: no upstream commit is claimed
GO_VERSION = "go1.25.9"
RELEASE_TYPE = "helm.sh/release.v1"
MANAGED_BY = "app.kubernetes.io/managed-by"
RELEASE_NAME = "meta.helm.sh/release-name"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
RESOURCE_POLICY = "helm.sh/resource-policy"
HISTORY_MAX = 10
STANDIN_OBJECTS = "islet-standin/objects.yaml"

STANDIN_DSL = """islet-standin/objects.yaml: YAML documents, the chart's objects, rendered with:
- in any string: {{ PIPELINE }}; a string that is one action alone keeps the value's type. PIPELINE is a term
  (.Values.a.b, .Release.Name|Namespace|Revision|IsInstall|IsUpgrade, .Chart.Name|Version|AppVersion,
  "text", a number, true, false) followed by `| FUNCTION [ARG]` with default ARG, b64enc, quote,
  toString, toYaml, toJson, indent N, nindent N, required "message"; .Standin.Fullname is the charts'
  fullname helper, .Standin.Now the time (UTC);
- a mapping {$if: PIPELINE, $value: V} stands for V when the pipeline is true (non-empty), else the
  entry is left out; $if at the top of a document keeps or drops the document;
- a mapping with $merge: PIPELINE (a map of the values), optional $omit: [keys], $toString: true and
  $each: FUNCTION merges that map's entries into the mapping (as strings, the empty ones left out, with
  $toString; each passed through FUNCTION with $each), before the mapping's own entries;
- in a sequence, an item {$splice: PIPELINE} stands for the items of that list of the values (as a
  template's `{{- with .Values.volumes }}{{ toYaml . | nindent N }}` appends them);
- a document {$include: PATH, $if: ..., $patch: MAPPING} stands for the plain YAML documents of PATH in the
  chart, each deep-merged with the rendered $patch."""

INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole", "ClusterRoleList",
    "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList",
    "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]

GLOBAL = {"kubeconfig": "value", "namespace": "value", "kube-context": "value", "debug": "bool", "help": "bool",
          "kube-apiserver": "value", "kube-token": "value", "kube-as-user": "value", "kube-as-group": "list",
          "kube-ca-file": "value", "kube-insecure-skip-tls-verify": "bool", "kube-tls-server-name": "value",
          "registry-config": "value", "repository-config": "value", "repository-cache": "value",
          "burst-limit": "value", "qps": "value", "content-cache": "value"}
SHORT = {"n": "namespace", "h": "help"}
NOT_SIMULATED = ("kube-context", "kube-apiserver", "kube-token", "kube-as-user", "kube-as-group", "kube-ca-file",
                 "kube-insecure-skip-tls-verify", "kube-tls-server-name")


def main():
    return common.run("helm", body)


def body(args):
    try:
        return dispatch(args)
    except Failure as failure:
        message = failure.message
        print(message if message.startswith("Error: ") else f"Error: {message}", file=sys.stderr)
        return failure.code


def dispatch(args):
    command = None
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("-"):
            name = arg.lstrip("-").split("=")[0]
            name = SHORT.get(name, name) if not arg.startswith("--") else name
            if "=" not in arg and GLOBAL.get(name) in ("value", "list"):
                index += 1
        else:
            command = arg
            break
        index += 1
    rest = args[:index] + args[index + 1:]
    handlers = {"version": cmd_version, "upgrade": cmd_upgrade, "install": cmd_install, "status": cmd_status,
                "list": cmd_list, "ls": cmd_list, "uninstall": cmd_uninstall, "un": cmd_uninstall,
                "delete": cmd_uninstall, "del": cmd_uninstall, "get": cmd_get}
    if command is None:
        raise Failure("helm stand-in: a command is required (version, upgrade, install, status, list, get values, "
                      "uninstall)")
    if command not in handlers:
        known = {"create", "dependency", "env", "history", "lint", "package", "plugin", "pull", "push", "registry",
                 "repo", "rollback", "search", "show", "template", "test", "verify", "completion", "help"}
        if command in known:
            raise Failure(f'helm stand-in: "helm {command}" is not simulated by the testbed')
        raise Failure(f'unknown command "{command}" for "helm"\nRun \'helm --help\' for usage.')
    return handlers[command](rest)


def parse(args, spec, short=None):
    merged = dict(GLOBAL)
    merged.update(spec)
    shorts = dict(SHORT)
    shorts.update(short or {})
    flags = cli.parse(args, merged, shorts)
    for name in NOT_SIMULATED:
        if flags.get(name):
            raise Failure(f"helm stand-in: --{name} is not simulated (use --kubeconfig)")
    return flags


def duration(text, default):
    """A Go duration (10m, 300s, 1h5m0s) in seconds."""
    if text is None:
        return default
    match = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:h|m|s|ms))+)", text)
    if not match:
        raise Failure(f'invalid argument "{text}" for "--timeout" flag: time: invalid duration "{text}"')
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text))


def go_time(moment):
    """helm's JSON time: RFC 3339 with nanoseconds, as Go marshals a time.Time."""
    stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int((moment % 1) * 1e9):09d}Z"


def go_string_time(moment):
    """`helm list`'s updated: Go's time.String()."""
    stamp = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{int((moment % 1) * 1e9):09d} +0000 UTC"


def ansic(moment):
    return datetime.datetime.fromtimestamp(moment, datetime.timezone.utc).strftime("%a %b %e %H:%M:%S %Y")


# --- version ---

def cmd_version(args):
    flags = parse(args, {"short": "bool", "template": "value", "client": "bool"}, {"c": "client"})
    if flags.get("template"):
        raise Failure("helm stand-in: --template is not simulated")
    if flags.get("short"):
        print(f"{VERSION}+g{GIT_COMMIT[:7]}")
    else:
        print(f'version.BuildInfo{{Version:"{VERSION}", GitCommit:"{GIT_COMMIT}", GitTreeState:"clean", '
              f'GoVersion:"{GO_VERSION}"}}')
    return 0


# --- charts ---

class Chart:
    def __init__(self, files):
        self.files = files  # {relative path: bytes}
        self.metadata = None
        self.values = {}
        self.schema = None
        if "Chart.yaml" in files:
            try:
                self.metadata = yamlio.load(files["Chart.yaml"].decode()) or {}
            except (yamlio.YAMLError, UnicodeDecodeError) as error:
                raise Failure(f"cannot load Chart.yaml: error converting YAML to JSON: {error}") from None
            if not isinstance(self.metadata, dict):
                raise Failure("cannot load Chart.yaml: error unmarshaling JSON: json: cannot unmarshal into Go value "
                              "of type chart.Metadata")
            self.metadata.setdefault("apiVersion", "v1")
        if "values.yaml" in files:
            try:
                values = yamlio.load(files["values.yaml"].decode())
            except (yamlio.YAMLError, UnicodeDecodeError) as error:
                raise Failure(f"cannot load values.yaml: error converting YAML to JSON: {error}") from None
            if values is not None and not isinstance(values, dict):
                raise Failure("cannot load values.yaml: error unmarshaling JSON: json: cannot unmarshal array into Go "
                              "value of type map[string]interface {}")
            self.values = values or {}
        if "values.schema.json" in files:
            self.schema = files["values.schema.json"]
        if self.metadata is None:
            raise Failure("Chart.yaml file is missing")
        self.validate()

    def validate(self):
        md = self.metadata
        for field in ("apiVersion", "name", "version"):
            if not md.get(field):
                raise Failure(f"validation: chart.metadata.{field} is required")
        if not isinstance(md["version"], str) or not SEMVER.fullmatch(md["version"].lstrip("v")):
            raise Failure(f'validation: chart.metadata.version "{md["version"]}" is invalid')
        if md.get("type", "") not in ("", "application", "library"):
            raise Failure("validation: chart.metadata.type must be application or library")
        if md["apiVersion"] not in ("v1", "v2"):
            raise Failure(f"apiVersion '{md['apiVersion']}' is not valid. The value must be either \"v1\" or \"v2\"")

    @property
    def name(self):
        return self.metadata["name"]

    def templates(self):
        return sorted((n, d) for n, d in self.files.items() if n.startswith("templates/"))

    def crds(self):
        return sorted((n, d) for n, d in self.files.items() if n.startswith("crds/") and
                      n.endswith((".yaml", ".yml", ".json")))

    def record(self):
        """The chart as the release record keeps it (helm's chart.Chart JSON)."""
        record = {"metadata": self.metadata, "lock": None,
                  "templates": [{"name": n, "data": base64.b64encode(d).decode()} for n, d in self.templates()],
                  "values": self.values, "schema": base64.b64encode(self.schema).decode() if self.schema else None,
                  "files": [{"name": n, "data": base64.b64encode(d).decode()} for n, d in sorted(self.files.items())
                            if not n.startswith(("templates/", "charts/")) and n not in
                            ("Chart.yaml", "values.yaml", "values.schema.json", "Chart.lock")]}
        return {k: v for k, v in record.items() if v is not None or k == "lock"}


SEMVER = re.compile(r"(0|[1-9]\d*)(\.(0|[1-9]\d*))?(\.(0|[1-9]\d*))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")


def detect_content_type(data):
    if data.startswith(b"\x1f\x8b\x08"):
        return "application/x-gzip"
    if data.startswith(b"PK\x03\x04"):
        return "application/zip"
    try:
        data.decode()
        return "text/plain; charset=utf-8"
    except UnicodeDecodeError:
        return "application/octet-stream"


def load_chart(name):
    path = common.root(name)
    if not os.path.exists(path):
        raise Failure(f'path "{name}" not found')
    if os.path.isdir(path):
        files = {}
        for directory, _, names in os.walk(path):
            for entry in names:
                full = os.path.join(directory, entry)
                with open(full, "rb") as f:
                    files[os.path.relpath(full, path)] = f.read()
        return Chart(files)
    with open(path, "rb") as f:
        raw = f.read()
    kind = detect_content_type(raw[:512])
    if kind != "application/x-gzip":
        if name.endswith((".yml", ".yaml")):
            raise Failure(f"file '{name}' seems to be a YAML file, but expected a gzipped archive")
        raise Failure(f"file '{name}' does not appear to be a gzipped archive; got '{kind}'")
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise Failure("unexpected EOF" if isinstance(error, EOFError) else f"gzip: {error}") from None
    files = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                if member.isdir() or member.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):
                    continue
                parts = member.name.split("/")
                relative = os.path.normpath("/".join(parts[1:])) if len(parts) > 1 else "."
                if "/".join(parts[1:]).startswith("/"):
                    raise Failure("chart illegally contains absolute paths")
                if relative == ".":
                    raise Failure(f'chart illegally contains content outside the base directory: "{member.name}"')
                if relative.startswith(".."):
                    raise Failure("chart illegally references parent directory")
                if parts[0] == "Chart.yaml":
                    raise Failure("chart yaml not in base directory")
                extracted = tar.extractfile(member)
                content = extracted.read() if extracted else b""
                files[relative] = content[3:] if content.startswith(b"\xef\xbb\xbf") else content
    except tarfile.TarError as error:
        raise Failure(f"archive/tar: {error}") from None
    if not files:
        raise Failure("no files in chart archive")
    return Chart(files)


def check_installable(chart):
    if chart.metadata.get("type") == "library":
        raise Failure("library charts are not installable")
    missing = []
    present = {n.split("/")[1] for n in chart.files if n.startswith("charts/") and n.count("/") >= 1}
    present_names = {re.sub(r"-\d[^/]*\.tgz$", "", p) for p in present}
    for dependency in chart.metadata.get("dependencies") or []:
        name = dependency.get("alias") or dependency.get("name")
        if dependency.get("name") not in present_names and name not in present_names:
            missing.append(dependency.get("name"))
    if missing:
        raise Failure("An error occurred while checking for chart dependencies. You may need to run `helm dependency "
                      "build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: "
                      + ", ".join(missing))
    constraint = chart.metadata.get("kubeVersion")
    if constraint and not version_satisfies(cluster.VERSION.lstrip("v"), constraint):
        raise Failure(f"chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {cluster.VERSION}")


def _version_tuple(text):
    match = SEMVER.fullmatch(text.strip().lstrip("v"))
    if not match:
        raise Failure(f"improper constraint: {text}")
    return (int(match.group(1)), int(match.group(3) or 0), int(match.group(5) or 0))


def version_satisfies(version, constraint):
    """Masterminds/semver constraints: ||-separated alternatives of comma/space-separated comparisons."""
    have = _version_tuple(version)
    for alternative in constraint.split("||"):
        ok = True
        for part in re.findall(r"(>=|<=|!=|=|>|<|\^|~)?\s*(v?[0-9][0-9A-Za-z.+-]*)", alternative):
            op, text = part
            want = _version_tuple(text)
            if op == ">=":
                ok &= have >= want
            elif op == "<=":
                ok &= have <= want
            elif op == ">":
                ok &= have > want
            elif op == "<":
                ok &= have < want
            elif op == "!=":
                ok &= have != want
            elif op == "^":
                ok &= want <= have < (want[0] + 1, 0, 0)
            elif op == "~":
                ok &= want <= have < (want[0], want[1] + 1, 0)
            else:
                ok &= have == want
        if ok:
            return True
    return False


# --- values ---

def coalesce(base, override):
    """User values over chart defaults: maps merge deeply, null deletes a default (helm's CoalesceValues)."""
    result = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = coalesce(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def merge_maps(base, override):
    """helm's mergeMaps for -f files and --set: later wins, maps merge."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_maps(result[key], value)
        else:
            result[key] = value
    return result


def read_values_files(names):
    merged = {}
    for name in names:
        try:
            with open(common.root(name)) as f:
                text = f.read()
        except FileNotFoundError:
            raise Failure(f"open {name}: no such file or directory") from None
        try:
            data = yamlio.load(text)
        except yamlio.YAMLError as error:
            raise Failure(f"failed to parse {name}: error converting YAML to JSON: {error}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise Failure(f"failed to parse {name}: error unmarshaling JSON: while decoding JSON: json: cannot "
                          f"unmarshal {'array' if isinstance(data, list) else 'string'} into Go value of type "
                          "map[string]interface {}")
        merged = merge_maps(merged, data)
    return merged


def typed(text):
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"-?(0|[1-9]\d*)", text):
        return int(text)
    return text


def parse_set(expression, into):
    """helm's strvals: a=b,c.d=e,list[0]=x; values typed (true/false/null/integers)."""
    parts = re.split(r"(?<!\\),", expression)
    for part in parts:
        if "=" not in part:
            raise Failure(f'failed parsing --set data: key "{part}" has no value')
        key, value = part.split("=", 1)
        value = typed(value.replace("\\,", ","))
        target = into
        steps = re.findall(r"([^.\[\]]+)|\[(\d+)\]", key.replace("\\.", "\0"))
        path = [(name.replace("\0", "."), int(index) if index else None) for name, index in steps]
        for position, (name, index) in enumerate(path):
            last = position == len(path) - 1
            if name:
                if last:
                    target[name] = value
                else:
                    nxt = path[position + 1]
                    target = target.setdefault(name, [] if nxt[1] is not None and not nxt[0] else {})
            else:
                while len(target) <= index:
                    target.append(None)
                if last:
                    target[index] = value
                else:
                    if not isinstance(target[index], dict):
                        target[index] = {}
                    target = target[index]
    return into


def validate_values(chart, values):
    if not chart.schema:
        return
    try:
        schema = json.loads(chart.schema)
    except ValueError as error:
        raise Failure(f"values don't meet the specifications of the schema(s) in the following chart(s):\n"
                      f"{chart.name}:\nunable to compile schema: {error}") from None
    payload = json.dumps({"valuesSchema": schema, "values": values})
    starter = (f"import sys; sys.path.insert(0, {kubectl.package_root()!r}); "
               "from standins import validate_child; validate_child.main()")
    try:
        result = subprocess.run([kubectl.VALIDATOR_PYTHON, "-c", starter, kubectl.VALIDATE_VERSION], input=payload,
                                capture_output=True, text=True)
    except FileNotFoundError:
        raise Failure(f"helm stand-in: {kubectl.VALIDATOR_PYTHON} is missing (scripts/install-dependencies)") from None
    if result.returncode != 0:
        raise Failure(f"helm stand-in: the values validator failed: {result.stderr.strip()}")
    answer = json.loads(result.stdout)
    if answer["result"] == "schema":
        raise Failure(f"values don't meet the specifications of the schema(s) in the following chart(s):\n"
                      f"{chart.name}:\nunable to compile schema: {answer['message']}")
    if answer["result"] == "invalid":
        raise Failure("values don't meet the specifications of the schema(s) in the following chart(s):\n"
                      f"{chart.name}:\n" + "\n".join(answer["lines"]) + "\n")


# --- rendering: islet-standin/objects.yaml or plain files ---

class Renderer:
    def __init__(self, chart, values, release, namespace, revision, upgrade):
        self.chart = chart
        self.context = {
            "Values": values,
            "Release": {"Name": release, "Namespace": namespace, "Revision": revision, "IsInstall": not upgrade,
                        "IsUpgrade": upgrade, "Service": "Helm"},
            "Chart": {"Name": chart.name, "Version": chart.metadata["version"],
                      "AppVersion": chart.metadata.get("appVersion", "")},
            # what the charts' helpers compute: "CHART.fullname" (fullnameOverride, else RELEASE, or
            # RELEASE-NAME when the release name does not contain NAME = nameOverride or the chart's name)
            "Standin": {"Fullname": fullname(chart, values, release),
                        "Now": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(common.now()))},
        }

    def fail(self, message):
        raise Failure(f"helm stand-in: {STANDIN_OBJECTS}: {message}\n{STANDIN_DSL}")

    # pipelines
    def term(self, token):
        if token.startswith("."):
            value = self.context
            for part in token[1:].split("."):
                if not part:
                    continue
                if not isinstance(value, dict):
                    return None
                value = value.get(part)
            return value
        if token.startswith('"') and token.endswith('"'):
            return json.loads(token)
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if token in ("true", "false"):
            return token == "true"
        self.fail(f"unsupported term {token!r}")

    def pipeline(self, text):
        commands = [c.strip() for c in re.split(r'\|(?=(?:[^"]*"[^"]*")*[^"]*$)', text)]
        value = None
        for position, command in enumerate(commands):
            words = re.findall(r'"(?:[^"\\]|\\.)*"|\S+', command)
            if not words:
                self.fail(f"empty command in {{{{ {text} }}}}")
            function, args = words[0], [self.term(w) for w in words[1:]]
            if position == 0 and not args and (function.startswith(".") or function.startswith('"') or
                                               re.fullmatch(r"-?\d+|true|false", function)):
                value = self.term(function)
                continue
            if position > 0:
                args.append(value)
            value = self.call(function, args, text)
        return value

    def call(self, function, args, text):
        if function == "default" and len(args) == 2:
            return args[1] if not empty(args[1]) else args[0]
        if function in ("indent", "nindent") and len(args) == 2 and isinstance(args[0], int):
            pad = " " * args[0]
            text_value = "\n".join(pad + line for line in to_string(args[1]).split("\n"))
            return ("\n" if function == "nindent" else "") + text_value
        if function == "required" and len(args) == 2:
            if empty(args[1]):
                raise Failure(f"execution error at ({self.chart.name}/{STANDIN_OBJECTS}): {args[0]}")
            return args[1]
        if len(args) != 1:
            self.fail(f"unsupported call in {{{{ {text} }}}}")
        value = args[0]
        if function == "b64enc":
            return base64.b64encode(to_string(value).encode()).decode()
        if function == "quote":
            return json.dumps(to_string(value))
        if function == "toString":
            return to_string(value)
        if function == "toYaml":
            return yamlio.dump(value).rstrip("\n") if isinstance(value, (dict, list)) and value else \
                ("{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else to_string(value))
        if function == "toJson":
            return json.dumps(value, separators=(",", ":"))
        self.fail(f"unsupported function {function!r} in {{{{ {text} }}}}")

    def string(self, text):
        actions = list(re.finditer(r"\{\{-?\s*(.*?)\s*-?\}\}", text))
        if not actions:
            return text
        if len(actions) == 1 and actions[0].span() == (0, len(text)):
            return self.pipeline(actions[0].group(1))
        return re.sub(r"\{\{-?\s*(.*?)\s*-?\}\}", lambda m: to_string(self.pipeline(m.group(1))), text)

    def condition(self, expression):
        value = self.string(expression) if isinstance(expression, str) and "{{" in expression else \
            self.pipeline(expression) if isinstance(expression, str) else expression
        return not empty(value)

    _SKIP = object()

    def value(self, node):
        if isinstance(node, str):
            return self.string(node)
        if isinstance(node, list):
            out = []
            for item in node:
                if isinstance(item, dict) and "$splice" in item:
                    if set(item) != {"$splice"}:
                        self.fail(f"unexpected keys {sorted(set(item) - {'$splice'})} next to $splice")
                    spliced = self.pipeline(item["$splice"])
                    if spliced is None:
                        continue
                    if not isinstance(spliced, list):
                        self.fail(f"$splice {item['$splice']!r} is not a list")
                    out.extend(copy.deepcopy(spliced))  # values, as toYaml would write them: not rendered again
                    continue
                rendered = self.value(item)
                if rendered is not self._SKIP:
                    out.append(rendered)
            return out
        if not isinstance(node, dict):
            return node
        if "$if" in node and "$value" in node:
            extra = set(node) - {"$if", "$value"}
            if extra:
                self.fail(f"unexpected keys {sorted(extra)} next to $if/$value")
            return self.value(node["$value"]) if self.condition(node["$if"]) else self._SKIP
        result = {}
        if "$merge" in node:
            merged = self.pipeline(node["$merge"]) if isinstance(node["$merge"], str) else node["$merge"]
            if merged is not None and not isinstance(merged, dict):
                self.fail(f"$merge {node['$merge']!r} is not a map")
            for key, item in sorted((merged or {}).items()):
                if key in (node.get("$omit") or []):
                    continue
                if node.get("$toString"):
                    item = to_string(item)
                    if item == "":
                        continue
                if node.get("$each"):
                    item = self.call(node["$each"], [item], f"$each: {node['$each']}")
                result[key] = item
        for key, item in node.items():
            if key in ("$merge", "$omit", "$toString", "$each"):
                continue
            if key.startswith("$"):
                self.fail(f"unknown directive {key}")
            rendered = self.value(item)
            if rendered is not self._SKIP:
                result[self.string(key)] = rendered
        return result

    def documents(self):
        """[(source, document)] of the chart's objects."""
        if STANDIN_OBJECTS in self.chart.files:
            try:
                docs = yamlio.load_all(self.chart.files[STANDIN_OBJECTS].decode())
            except yamlio.YAMLError as error:
                self.fail(f"not YAML: {error}")
            out = []
            for doc in docs:
                if not isinstance(doc, dict):
                    self.fail("every document must be a mapping")
                doc = dict(doc)
                condition = doc.pop("$if", None)
                if condition is not None and not self.condition(condition):
                    continue
                if "$include" in doc:
                    include, patch = doc.pop("$include"), self.value(doc.pop("$patch", {}))
                    if doc:
                        self.fail(f"unexpected keys {sorted(doc)} next to $include")
                    if include not in self.chart.files:
                        self.fail(f"$include {include}: no such file in the chart")
                    for included in yamlio.load_all(self.chart.files[include].decode()):
                        out.append((f"{self.chart.name}/{include}", deep_merge(included, patch)))
                    continue
                out.append((f"{self.chart.name}/{STANDIN_OBJECTS}", self.value(doc)))
            return out
        out = []
        for name, data in self.chart.templates():
            base = os.path.basename(name)
            if base.startswith("_") or base == "NOTES.txt":
                continue
            text = data.decode()
            if "{{" in text:
                raise Failure(f"helm stand-in: {self.chart.name}/{name} is a Go template, which the stand-in cannot "
                              f"render; a chart for the testbed declares its objects in {STANDIN_OBJECTS}")
            try:
                docs = yamlio.load_all(text)
            except yamlio.YAMLError as error:
                raise Failure(f"YAML parse error on {self.chart.name}/{name}: error converting YAML to JSON: "
                              f"{error}") from None
            out.extend((f"{self.chart.name}/{name}", doc) for doc in docs)
        return out


def fullname(chart, values, release):
    if values.get("fullnameOverride"):
        return str(values["fullnameOverride"])[:63].rstrip("-")
    name = values.get("nameOverride") or chart.name
    return (release if name in release else f"{release}-{name}")[:63].rstrip("-")


def empty(value):
    return value is None or value is False or value == 0 and not isinstance(value, bool) or \
        (isinstance(value, (str, list, dict)) and len(value) == 0)


def to_string(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def deep_merge(base, patch):
    result = copy.deepcopy(base)
    for key, value in (patch or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = deep_merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def install_order(entries):
    rank = {kind: position for position, kind in enumerate(INSTALL_ORDER)}
    return sorted(entries, key=lambda e: rank.get(e[1].get("kind"), len(rank)))


def manifest_text(entries):
    return "".join(f"---\n# Source: {source}\n{yamlio.dump(doc)}" for source, doc in entries)


def crd_documents(chart):
    out = []
    for name, data in chart.crds():
        try:
            docs = yamlio.load_all(data.decode())
        except yamlio.YAMLError as error:
            raise Failure(f"failed to install CRD {name}: error converting YAML to JSON: {error}") from None
        out.extend((name, doc) for doc in docs)
    return out


# --- releases in the cluster ---

def secret_name(release, revision):
    return f"sh.helm.release.v1.{release}.v{revision}"


def encode_release(record):
    return base64.b64encode(gzip.compress(json.dumps(record, separators=(",", ":")).encode(), mtime=0)).decode()


def decode_release(text):
    return json.loads(gzip.decompress(base64.b64decode(text)))


def history(namespace, release=None):
    """Release records in ``namespace`` (of ``release``), oldest first."""
    records = []
    for secret in cluster.list_objects("Secret", "v1", namespace):
        labels = secret["metadata"].get("labels") or {}
        if secret.get("type") != RELEASE_TYPE or labels.get("owner") != "helm":
            continue
        if release is not None and labels.get("name") != release:
            continue
        records.append(decode_release(base64.b64decode(secret["data"]["release"]).decode()))
    return sorted(records, key=lambda r: (r["name"], r["version"]))


def store(record):
    """Writes the release Secret (caller holds the lock), as helm's Secret storage driver does."""
    labels = {"name": record["name"], "owner": "helm", "status": record["info"]["status"],
              "version": str(record["version"]), "modifiedAt": str(int(time.time()))}
    cluster.put({"apiVersion": "v1", "kind": "Secret", "type": RELEASE_TYPE,
                 "metadata": {"name": secret_name(record["name"], record["version"]),
                              "namespace": record["namespace"], "labels": labels},
                 "data": {"release": base64.b64encode(encode_release(record).encode()).decode()}})


def connect(flags):
    settings = cli.Flags()
    settings.values = {"kubeconfig": flags.get("kubeconfig"), "namespace": flags.get("namespace")}
    try:
        return kubectl.Session(settings)
    except Failure as failure:
        reason = failure.message
        if "was refused" in reason:
            host = reason.split("The connection to the server ", 1)[-1].split(" was refused")[0]
            reason = f'Get "https://{host}/version": dial tcp {host}: connect: connection refused'
        raise Failure(f"Kubernetes cluster unreachable: {reason}") from None


def namespace_of(flags):
    return flags.get("namespace") or "default"


# --- install / upgrade ---

UPGRADE_FLAGS = {"install": "bool", "create-namespace": "bool", "values": "list", "set": "array",
                 "set-string": "array", "wait": "bool", "wait-for-jobs": "bool", "timeout": "value",
                 "output": "value", "history-max": "value", "reset-values": "bool", "reuse-values": "bool",
                 "reset-then-reuse-values": "bool", "description": "value", "atomic": "bool", "dry-run": "value",
                 "force": "bool", "version": "value", "skip-crds": "bool", "cleanup-on-fail": "bool",
                 "no-hooks": "bool", "generate-name": "bool", "replace": "bool", "devel": "bool",
                 "rollback-on-failure": "bool", "take-ownership": "bool", "hide-notes": "bool",
                 "disable-openapi-validation": "bool", "labels": "value"}
UPGRADE_SHORT = {"i": "install", "f": "values", "o": "output", "g": "generate-name"}


def cmd_install(args):
    return run_upgrade(args, install_only=True)


def cmd_upgrade(args):
    return run_upgrade(args, install_only=False)


def run_upgrade(args, install_only):
    flags = parse(args, UPGRADE_FLAGS, UPGRADE_SHORT)
    for name in ("atomic", "rollback-on-failure", "dry-run", "version", "generate-name", "replace", "devel",
                 "disable-openapi-validation", "labels", "force", "take-ownership"):
        if flags.get(name):
            raise Failure(f"helm stand-in: --{name} is not simulated")
    command = "install" if install_only else "upgrade"
    if len(flags.positional) != 2:
        raise Failure(f'"helm {command}" requires 2 arguments\n\nUsage:  helm {command} [RELEASE] [CHART] [flags]')
    release, chart_path = flags.positional
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", release) or \
            len(release) > 53:
        raise Failure(f'invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*'
                      f'[a-z0-9])?)*$ and the length must not be longer than 53')
    output = flags.get("output") or "table"
    if output not in ("table", "json", "yaml"):
        raise Failure(f'invalid argument "{output}" for "-o, --output" flag: invalid format type')
    timeout = duration(flags.get("timeout"), 300)
    namespace = namespace_of(flags)
    session = connect(flags)
    records = history(namespace, release)
    live = [r for r in records if r["info"]["status"] != "uninstalled"]
    installing = install_only or not live
    if not install_only and not live and not flags.get("install"):
        raise Failure(f'UPGRADE FAILED: "{release}" has no deployed releases')
    if install_only and live:
        raise Failure("INSTALLATION FAILED: cannot re-use a name that is still in use")
    if installing and not install_only and output == "table":
        print(f'Release "{release}" does not exist. Installing it now.')
    user_values = read_values_files(flags.get("values") or [])
    for expression in flags.get("set") or []:
        parse_set(expression, user_values)
    for expression in flags.get("set-string") or []:
        for part in re.split(r"(?<!\\),", expression):
            key, _, value = part.partition("=")
            parse_set(f"{key}=x", user_values)
            target = user_values
            keys = key.split(".")
            for k in keys[:-1]:
                target = target[k]
            target[keys[-1]] = value
    chart = load_chart(chart_path)
    prefix = "" if installing and not install_only else ("INSTALLATION FAILED: " if install_only else
                                                         "UPGRADE FAILED: ")
    try:
        check_installable(chart)
        if installing:
            record = install(session, flags, chart, release, namespace, user_values, records, timeout)
        else:
            record = upgrade(session, flags, chart, release, namespace, user_values, live, timeout)
    except Failure as failure:
        raise Failure(prefix + failure.message) from None
    if output == "json":
        print(json.dumps(record, separators=(",", ":")))
    elif output == "yaml":
        print(yamlio.dump(record).rstrip())
    else:
        if not installing:
            print(f'Release "{release}" has been upgraded. Happy Helming!')
        print_status(record)
    return 0


def render(chart, values, release, namespace, revision, upgrading):
    entries = Renderer(chart, values, release, namespace, revision, upgrading).documents()
    out = []
    for source, doc in entries:
        if not isinstance(doc, dict) or not doc:
            continue
        out.append((source, doc))
    return install_order(out)


def build(session, entries, namespace):
    """kube.Client.Build: the objects as the API server will see them (namespace set), checked."""
    docs = []
    for source, doc in entries:
        doc = copy.deepcopy(doc)
        kubectl.check_document(source, doc)
        meta = doc["metadata"]
        if kubectl.scope_of(doc):
            meta["namespace"] = meta.get("namespace") or namespace
        docs.append(("", doc))
    try:
        checked = kubectl.validate_documents(docs, strict=False)
    except kubectl.Invalid as invalid:
        if invalid.server:
            return docs, invalid.bare
        raise Failure(f"unable to build kubernetes objects from release manifest: {invalid.bare}") from None
    except Failure as failure:
        return docs, failure.message
    for _, _, warnings in checked:
        for warning in warnings:
            print(f"W{time.strftime('%m%d %H:%M:%S')}.000000 {os.getpid():>7} warnings.go:70] {warning}",
                  file=sys.stderr)
    return [(doc, stored) for (_, doc), (_, stored, _) in zip(docs, checked)], None


def key_of(doc):
    return (doc["kind"], cluster.group_of(doc["apiVersion"]), doc["metadata"].get("namespace") or "",
            doc["metadata"]["name"])


def label_of(doc):
    return f'{doc["kind"]} "{doc["metadata"]["name"]}" in namespace "{doc["metadata"].get("namespace") or ""}"'


def ownership_problem(current, release, namespace):
    labels = current["metadata"].get("labels") or {}
    annotations = current["metadata"].get("annotations") or {}
    problems = []
    if labels.get(MANAGED_BY) != "Helm":
        problems.append(f'label validation error: missing key "{MANAGED_BY}": must be set to "Helm"'
                        if MANAGED_BY not in labels else
                        f'label validation error: key "{MANAGED_BY}" must equal "Helm": current value is '
                        f'"{labels[MANAGED_BY]}"')
    for key, want in ((RELEASE_NAME, release), (RELEASE_NAMESPACE, namespace)):
        if key not in annotations:
            problems.append(f'annotation validation error: missing key "{key}": must be set to "{want}"')
        elif annotations[key] != want:
            problems.append(f'annotation validation error: key "{key}" must equal "{want}": current value is '
                            f'"{annotations[key]}"')
    return "; ".join(problems)


def mark(doc, release, namespace):
    meta = doc.setdefault("metadata", {})
    meta.setdefault("labels", {})[MANAGED_BY] = "Helm"
    meta.setdefault("annotations", {}).update({RELEASE_NAME: release, RELEASE_NAMESPACE: namespace})


def existing(doc):
    return cluster.get(doc["kind"], doc["apiVersion"], doc["metadata"].get("namespace"), doc["metadata"]["name"])


def install_crds(session, chart):
    """crds/: created when absent, never updated or deleted (helm's CRD handling)."""
    docs = crd_documents(chart)
    if not docs:
        return
    for source, doc in docs:
        kubectl.check_document(source, doc)
    try:
        checked = kubectl.validate_documents([("", d) for _, d in docs], strict=False)
    except kubectl.Invalid as invalid:
        raise Failure(f"failed to install CRD {docs[0][0]}: {invalid.bare}") from None
    for (source, doc), (_, stored, _) in zip(docs, checked):
        if existing(stored) is not None:
            print(f"CRD {stored['metadata']['name']} is already present. Skipping.", file=sys.stderr)
            continue
        kubectl.apply_one(session, doc, False, source, stored=stored, annotate=False)


def new_record(chart, release, namespace, revision, values, manifest, status, description, first=None):
    now = common.now()
    return {"name": release,
            "info": {"first_deployed": go_time(first if first is not None else now), "last_deployed": go_time(now),
                     "deleted": "", "description": description, "status": status},
            "chart": chart.record(), **({"config": values} if values else {}), "manifest": manifest,
            "version": revision, "namespace": namespace}


def first_deployed(records):
    for record in records:
        stamp = record["info"].get("first_deployed")
        if stamp:
            return datetime.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(
                tzinfo=datetime.timezone.utc).timestamp()
    return None


def install(session, flags, chart, release, namespace, user_values, records, timeout):
    values = coalesce(chart.values, user_values)
    validate_values(chart, values)
    if not flags.get("skip-crds"):
        install_crds(session, chart)
    revision = (records[-1]["version"] + 1) if records else 1
    entries = render(chart, values, release, namespace, revision, False)
    for _, doc in entries:
        kubectl.check_document(STANDIN_OBJECTS, doc)
        mark(doc, release, namespace)
    objects, refused = build(session, entries, namespace)
    for doc, _ in ([] if refused else objects):
        current = existing(doc)
        if current is not None:
            problem = ownership_problem(current, release, namespace)
            if problem:
                raise Failure("rendered manifests contain a resource that already exists. Unable to continue with "
                              f"install: {label_of(doc)} exists and cannot be imported into the current release: "
                              f"invalid ownership metadata; {problem}")
    with common.locked():
        if flags.get("create-namespace") and cluster.get("Namespace", "v1", None, namespace) is None:
            cluster.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace,
                                                                                 "labels": {"name": namespace}},
                         "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        if cluster.get("Namespace", "v1", None, namespace) is None:
            raise Failure(f'create: failed to create: namespaces "{namespace}" not found')
        manifest = manifest_text(entries)
        record = new_record(chart, release, namespace, revision, user_values, manifest, "pending-install",
                            "Initial install underway")
        store(record)
    return perform(session, record, [] if refused else objects, [], refused, flags, timeout, "Install complete",
                   f'Release "{release}" failed')


def upgrade(session, flags, chart, release, namespace, user_values, live, timeout):
    last = live[-1]
    if last["info"]["status"].startswith("pending-"):
        raise Failure("another operation (install/upgrade/rollback) is in progress")
    deployed = next((r for r in reversed(live) if r["info"]["status"] == "deployed"), last)
    previous_values = deployed.get("config") or {}
    if flags.get("reset-values"):
        pass
    elif flags.get("reuse-values") or flags.get("reset-then-reuse-values"):
        user_values = merge_maps(previous_values, user_values)
    elif not user_values and previous_values:
        user_values = copy.deepcopy(previous_values)  # helm reuses the last values when none are given
    values = coalesce(chart.values, user_values)
    validate_values(chart, values)
    revision = last["version"] + 1
    entries = render(chart, values, release, namespace, revision, True)
    for _, doc in entries:
        kubectl.check_document(STANDIN_OBJECTS, doc)
        mark(doc, release, namespace)
    old = []
    for doc in yamlio.load_all(deployed.get("manifest") or ""):
        if isinstance(doc, dict) and doc.get("kind"):
            if kubectl.scope_of(doc):
                doc["metadata"]["namespace"] = doc["metadata"].get("namespace") or namespace
            old.append(doc)
    objects, refused = build(session, entries, namespace)
    old_keys = {key_of(d) for d in old}
    for doc, _ in ([] if refused else objects):
        current = existing(doc)
        if current is not None and key_of(doc) not in old_keys:
            problem = ownership_problem(current, release, namespace)
            if problem:
                raise Failure(f"Unable to continue with update: {label_of(doc)} exists and cannot be imported into "
                              f"the current release: invalid ownership metadata; {problem}")
    new_keys = {key_of(doc) for doc, _ in objects} if not refused else old_keys
    removed = [d for d in old if key_of(d) not in new_keys]
    with common.locked():
        record = new_record(chart, release, namespace, revision, user_values, manifest_text(entries),
                            "pending-upgrade", "Preparing upgrade", first=first_deployed(live))
        store(record)
    record = perform(session, record, [] if refused else objects, removed, refused, flags, timeout,
                     "Upgrade complete", f'Upgrade "{release}" failed')
    with common.locked():
        for older in history(namespace, release):
            if older["version"] < revision and older["info"]["status"] == "deployed":
                older["info"]["status"] = "superseded"
                store(older)
        keep = int(flags.get("history-max") or HISTORY_MAX)
        records = history(namespace, release)
        if keep > 0:
            for older in records[:-keep]:
                cluster.delete("Secret", "v1", namespace, secret_name(release, older["version"]))
    return record


def perform(session, record, objects, removed, refused, flags, timeout, success, failed):
    """Creates/updates the objects, deletes the removed ones, waits if asked; the record ends deployed or failed."""
    error = refused
    if error is None:
        try:
            for doc, stored in objects:
                kubectl.apply_one(session, doc, False, "", stored=stored, annotate=False)
            with common.locked():
                for doc in removed:
                    annotations = doc["metadata"].get("annotations") or {}
                    if annotations.get(RESOURCE_POLICY) == "keep":
                        continue
                    cluster.delete(doc["kind"], doc["apiVersion"], doc["metadata"].get("namespace"),
                                   doc["metadata"]["name"])
        except Failure as failure:
            error = failure.message
    if error is None and flags.get("wait"):
        error = wait_for(objects, timeout)
    with common.locked():
        if error is None:
            record["info"]["status"], record["info"]["description"] = "deployed", success
        else:
            record["info"]["status"], record["info"]["description"] = "failed", f"{failed}: {error}"
        record["info"]["last_deployed"] = go_time(common.now())
        store(record)
    if error is not None:
        raise Failure(error)
    return record


def max_unavailable(obj, want):
    strategy = ((obj.get("spec") or {}).get("strategy") or {})
    if strategy.get("type") == "Recreate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return int(want * int(value[:-1]) / 100)
    return int(value)


def workload_ready(obj):
    kind = obj["kind"]
    if kind == "Deployment":
        status = workloads.deployment_status(obj)
        want = workloads.replicas(obj)
        return status["updatedReplicas"] >= want and \
            status["readyReplicas"] >= want - max_unavailable(obj, want) and status["replicas"] <= want
    if kind == "StatefulSet":
        status = workloads.statefulset_status(obj)
        want = workloads.replicas(obj)
        return status["readyReplicas"] >= want and status["updatedReplicas"] >= want
    if kind == "DaemonSet":
        status = kubectl.daemonset_status(obj)
        needed = len(status["aliveNodes"])
        return status["updatedNumberScheduled"] >= needed and status["numberAvailable"] >= needed
    return True


def wait_for(objects, timeout):
    """helm --wait: every Deployment, StatefulSet and DaemonSet of the release ready within ``timeout``."""
    deadline = time.monotonic() + timeout
    targets = [doc for doc, _ in objects if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet") and
               doc["apiVersion"] == "apps/v1"]
    while True:
        pending = []
        for doc in targets:
            current = existing(doc)
            if current is None or not workload_ready(current):
                pending.append(doc)
        if not pending:
            return None
        if time.monotonic() >= deadline:
            return "context deadline exceeded"
        time.sleep(0.2)


# --- status, list, get values, uninstall ---

def latest(namespace, release):
    records = history(namespace, release)
    if not records:
        raise Failure("release: not found")
    return records[-1]


def print_status(record):
    info = record["info"]
    stamp = datetime.datetime.strptime(info["last_deployed"][:19], "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    print(f"NAME: {record['name']}\nLAST DEPLOYED: {ansic(stamp)}\nNAMESPACE: {record['namespace']}\n"
          f"STATUS: {info['status']}\nREVISION: {record['version']}\nTEST SUITE: None")


def write(value, output, table):
    if output == "json":
        print(json.dumps(value, separators=(",", ":")))
    elif output == "yaml":
        print(yamlio.dump(value).rstrip() if isinstance(value, (dict, list)) and value else json.dumps(value))
    elif output in (None, "", "table"):
        table()
    else:
        raise Failure(f'invalid argument "{output}" for "-o, --output" flag: invalid format type')


def cmd_status(args):
    flags = parse(args, {"output": "value", "revision": "value", "show-desc": "bool", "show-resources": "bool"},
                  {"o": "output"})
    if len(flags.positional) != 1:
        raise Failure('"helm status" requires 1 argument\n\nUsage:  helm status RELEASE_NAME [flags]')
    connect(flags)
    namespace = namespace_of(flags)
    record = latest(namespace, flags.positional[0])
    if flags.get("revision"):
        record = next((r for r in history(namespace, flags.positional[0])
                       if str(r["version"]) == flags.get("revision")), None)
        if record is None:
            raise Failure("release: not found")
    write(record, flags.get("output"), lambda: print_status(record))
    return 0


def cmd_list(args):
    flags = parse(args, {"output": "value", "all": "bool", "all-namespaces": "bool", "deployed": "bool",
                         "failed": "bool", "pending": "bool", "superseded": "bool", "uninstalled": "bool",
                         "short": "bool", "filter": "value", "no-headers": "bool"},
                  {"o": "output", "a": "all", "A": "all-namespaces", "q": "short"})
    connect(flags)
    namespace = None if flags.get("all-namespaces") else namespace_of(flags)
    wanted = {s for s in ("deployed", "failed", "superseded", "uninstalled") if flags.get(s)}
    if flags.get("pending"):
        wanted |= {"pending-install", "pending-upgrade", "pending-rollback"}
    if not wanted:
        wanted = {"deployed", "failed"}
    newest = {}
    for record in history(namespace):
        key = (record["namespace"], record["name"])
        if key not in newest or record["version"] > newest[key]["version"]:
            newest[key] = record
    rows = []
    for (_, name), record in sorted(newest.items(), key=lambda item: item[0][1]):
        if not flags.get("all") and record["info"]["status"] not in wanted:
            continue
        if flags.get("filter") and not re.search(flags.get("filter"), name):
            continue
        stamp = datetime.datetime.strptime(record["info"]["last_deployed"][:26].rstrip("Z"),
                                           "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
        metadata = record["chart"]["metadata"]
        rows.append({"name": name, "namespace": record["namespace"], "revision": str(record["version"]),
                     "updated": go_string_time(stamp), "status": record["info"]["status"],
                     "chart": f"{metadata['name']}-{metadata['version']}", "app_version": metadata.get("appVersion", "")})

    def table():
        if flags.get("short"):
            for row in rows:
                print(row["name"])
            return
        header = ["NAME", "NAMESPACE", "REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION"]
        lines = [[r["name"], r["namespace"], r["revision"], r["updated"], r["status"], r["chart"], r["app_version"]]
                 for r in rows]
        widths = [max(len(line[i]) for line in lines + [header]) for i in range(len(header))]
        for line in ([] if flags.get("no-headers") else [header]) + lines:
            print("\t".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
    write(rows, flags.get("output"), table)
    return 0


def cmd_get(args):
    flags = parse(args, {"output": "value", "all": "bool", "revision": "value"}, {"o": "output", "a": "all"})
    words = flags.positional
    if not words or words[0] != "values":
        raise Failure('helm stand-in: only "helm get values" is simulated')
    if len(words) != 2:
        raise Failure('"helm get values" requires 1 argument\n\nUsage:  helm get values RELEASE_NAME [flags]')
    connect(flags)
    record = latest(namespace_of(flags), words[1])
    if flags.get("all"):
        values = coalesce(record["chart"].get("values") or {}, record.get("config") or {})
        heading = "COMPUTED VALUES:"
    else:
        values = record.get("config")
        heading = "USER-SUPPLIED VALUES:"
    write(values, flags.get("output"),
          lambda: print(f"{heading}\n" + (yamlio.dump(values).rstrip() if values else "null")))
    return 0


def cmd_uninstall(args):
    flags = parse(args, {"keep-history": "bool", "wait": "bool", "timeout": "value", "no-hooks": "bool",
                         "ignore-not-found": "bool", "description": "value", "dry-run": "bool",
                         "cascade": "value"})
    if flags.get("dry-run"):
        raise Failure("helm stand-in: --dry-run is not simulated")
    if not flags.positional:
        raise Failure('"helm uninstall" requires at least 1 argument\n\nUsage:  helm uninstall RELEASE_NAME [...] '
                      "[flags]")
    session = connect(flags)
    namespace = namespace_of(flags)
    for release in flags.positional:
        records = history(namespace, release)
        if not records or records[-1]["info"]["status"] == "uninstalled":
            if flags.get("ignore-not-found"):
                continue
            raise Failure(f"uninstall: Release not loaded: {release}: release: not found")
        record = records[-1]
        docs = [d for d in yamlio.load_all(record.get("manifest") or "") if isinstance(d, dict) and d.get("kind")]
        kept = []
        with common.locked():
            for doc in reversed(install_order([("", d) for d in docs])):
                doc = doc[1]
                if kubectl.scope_of(doc):
                    doc["metadata"]["namespace"] = doc["metadata"].get("namespace") or namespace
                if (doc["metadata"].get("annotations") or {}).get(RESOURCE_POLICY) == "keep":
                    kept.append(f"[{doc['kind']}] {doc['metadata']['name']}")
                    continue
                session.may("delete", doc["kind"].lower() + "s", doc["metadata"]["name"],
                            doc["metadata"].get("namespace"), cluster.group_of(doc["apiVersion"]))
                cluster.delete(doc["kind"], doc["apiVersion"], doc["metadata"].get("namespace"),
                               doc["metadata"]["name"])
                if doc["kind"] in ("Deployment", "StatefulSet", "ReplicaSet"):
                    delete_dependents(doc)
            if flags.get("keep-history"):
                record["info"]["status"], record["info"]["description"] = "uninstalled", "Uninstallation complete"
                record["info"]["deleted"] = go_time(common.now())
                store(record)
            else:
                for older in records:
                    cluster.delete("Secret", "v1", namespace, secret_name(release, older["version"]))
        if kept:
            print("These resources were kept due to the resource policy:\n" + "\n".join(kept))
        print(f'release "{release}" uninstalled')
    return 0


def delete_dependents(doc):
    """The garbage collector's part: ReplicaSets and Pods of a deleted Deployment/StatefulSet go with it."""
    namespace = doc["metadata"]["namespace"]
    owners = {(doc["kind"], doc["metadata"]["name"])}
    for rs in cluster.list_objects("ReplicaSet", "apps/v1", namespace):
        if any((o.get("kind"), o.get("name")) in owners for o in rs["metadata"].get("ownerReferences") or []):
            owners.add(("ReplicaSet", rs["metadata"]["name"]))
            cluster.delete("ReplicaSet", "apps/v1", namespace, rs["metadata"]["name"])
    for pod in cluster.list_objects("Pod", "v1", namespace):
        if any((o.get("kind"), o.get("name")) in owners for o in pod["metadata"].get("ownerReferences") or []):
            cluster.delete("Pod", "v1", namespace, pod["metadata"]["name"])


if __name__ == "__main__":
    sys.exit(main())
