"""YAML in and out for the Kubernetes stand-ins (kubeadm configs, kubeconfigs, manifests).

Parsing uses PyYAML: Debian's python3-yaml when /usr/bin/python3 has it, else the pinned test venv
(/opt/islet-test-tools, which has PyYAML for kubernetes-validate) in a child process. Writing is done
here: the files the stand-ins write are plain maps, lists and scalars.
"""

import json
import re
import subprocess

try:
    import yaml as _yaml
except ImportError:  # the zipapps run under /usr/bin/python3, which may lack python3-yaml
    _yaml = None

VENV_PYTHON = "/opt/islet-test-tools/bin/python3"

_LOAD_IN_CHILD = (
    "import json, sys, yaml\n"
    "try:\n"
    "    docs = list(yaml.load_all(sys.stdin.read(), Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader)))\n"
    "except yaml.YAMLError as error:\n"
    "    print(json.dumps({'error': str(error)})); sys.exit(0)\n"
    "print(json.dumps({'docs': docs}, default=str))\n"
)


class YAMLError(Exception):
    pass


def load_all(text):
    """Every non-empty document of ``text`` as JSON-shaped values (timestamps become strings)."""
    if _yaml is not None:
        try:
            # libyaml's loader when PyYAML has it: the same documents, several times faster on big CRDs
            docs = list(_yaml.load_all(text, Loader=getattr(_yaml, "CSafeLoader", _yaml.SafeLoader)))
        except _yaml.YAMLError as error:
            raise YAMLError(str(error)) from None
        docs = json.loads(json.dumps(docs, default=str))
    else:
        try:
            result = subprocess.run([VENV_PYTHON, "-c", _LOAD_IN_CHILD], input=text, capture_output=True,
                                    text=True, check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            raise YAMLError(f"no YAML parser: python3-yaml missing and {VENV_PYTHON} failed: {error}") from None
        answer = json.loads(result.stdout)
        if "error" in answer:
            raise YAMLError(answer["error"])
        docs = answer["docs"]
    return [doc for doc in docs if doc is not None]


def load(text):
    docs = load_all(text)
    return docs[0] if docs else None


_PLAIN = re.compile(r"^(?!---)(?:[A-Za-z0-9_/]|-[A-Za-z0-9_-])[A-Za-z0-9_./:@+=,-]*$")
_NOT_PLAIN = re.compile(r"^(true|false|yes|no|on|off|null|y|n|~|[-+]?[0-9][0-9_.:eE+-]*|\.inf|\.nan)$", re.I)


def _scalar(value):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and not _NOT_PLAIN.match(text) and not text.endswith(":"):
        return text
    return json.dumps(text)  # a JSON string is a valid YAML double-quoted scalar


def _emit(value, indent, lines):
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                _emit(item, indent + 2, lines)
            elif isinstance(item, list) and item:
                lines.append(f"{pad}{_scalar(key)}:")
                _emit(item, indent, lines)
            else:
                lines.append(f"{pad}{_scalar(key)}: {_inline(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)) and item:
                sub = []
                _emit(item, indent + 2, sub)
                sub[0] = f"{pad}- " + sub[0][indent + 2:]
                lines.extend(sub)
            else:
                lines.append(f"{pad}- {_inline(item)}")
    else:
        lines.append(pad + _scalar(value))


def _inline(value):
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump(value):
    """Block-style YAML of a map or list (keys in the given order)."""
    lines = []
    _emit(value, 0, lines)
    return "\n".join(lines) + "\n"


def dump_all(values):
    return "---\n".join(dump(value) for value in values)
