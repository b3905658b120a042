"""Runs inside the pinned test venv (/opt/islet-test-tools), where kubernetes-validate and jsonschema are
installed, started by kubectl.validate_schemas with the stand-ins' package on sys.path.

stdin: {"version": K8S_VERSION, "strict": bool, "objects": [{"object": OBJ, "crd": SCHEMA or null}]}.
stdout: one result per object. Built-in kinds are checked by kubernetes-validate (strict: unknown fields
are errors); with strict false (helm: no field validation asked, the API server's default Warn) unknown
fields are dropped with a warning instead, as the API server does. A custom resource is checked against its
CRD's openAPIV3Schema by crdvalidate.custom_resource.
"""

import json
import re
import sys

# No format checker is used here: keep jsonschema from importing its optional rfc3987-syntax (which builds a
# lark grammar for seconds at import) when something else installed it into the venv.
sys.modules.setdefault("rfc3987_syntax", None)

import kubernetes_validate.utils as utils  # noqa: E402

from standins import crdvalidate  # noqa: E402

_EXTRA = re.compile(r"Additional properties are not allowed \((.*) (?:was|were) unexpected\)")


def builtin(document, version, strict):
    warnings = []
    for _ in range(100):
        try:
            utils.validate(document, version, strict=True)
            return {"result": "ok", "object": document, "warnings": warnings}
        except utils.ValidationError as error:
            extra = _EXTRA.fullmatch(error.message) if error.validator == "additionalProperties" else None
            if strict or not extra:
                return {"result": "error", "path": [str(p) for p in error.path], "message": error.message}
            target = document
            for part in error.path:
                target = target[part]
            for name in re.findall(r"'([^']*)'", extra.group(1)):
                target.pop(name, None)
                path = ".".join(str(p) for p in list(error.path) + [name])
                warnings.append(f'unknown field "{path}"')
        except utils.SchemaNotFoundError:
            return {"result": "no-schema"}
    return {"result": "error", "path": [], "message": "too many unknown fields"}


def _json_type(value):
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object",
            type(None): "null"}.get(type(value), "unknown")


def values_schema(values, schema):
    """helm's check of a chart's values against its values.schema.json ("- at '/path': ..." lines, as helm 3.18+
    prints them from santhosh-tekuri/jsonschema)."""
    import jsonschema
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as error:
        return {"result": "schema", "message": error.message}
    lines = []
    for error in sorted(cls(schema).iter_errors(values), key=lambda e: list(map(str, e.absolute_path))):
        where = "".join(f"/{p}" for p in error.absolute_path)
        if error.validator == "additionalProperties":
            extra = sorted(set(error.instance) - set(error.schema.get("properties") or {}))
            message = f"additional properties {', '.join(repr(e) for e in extra)} not allowed"
        elif error.validator == "required":
            message = "missing property " + error.message.split(" is a required")[0]
        elif error.validator == "type":
            wanted = error.validator_value
            message = f"got {_json_type(error.instance)}, want {' or '.join(wanted) if isinstance(wanted, list) else wanted}"
        elif error.validator == "enum":
            message = "value must be one of " + ", ".join(json.dumps(v) for v in error.validator_value)
        else:
            message = error.message
        lines.append(f"- at '{where}': {message}")
    return {"result": "ok" if not lines else "invalid", "lines": lines}


def main():
    version = sys.argv[1]
    payload = json.load(sys.stdin)
    if isinstance(payload, dict) and "valuesSchema" in payload:
        json.dump(values_schema(payload["values"], payload["valuesSchema"]), sys.stdout)
        return
    if isinstance(payload, list):  # the plain list of objects: strict, no CRDs
        payload = {"strict": True, "objects": [{"object": o, "crd": None} for o in payload]}
    results = []
    for entry in payload["objects"]:
        document, schema = entry["object"], entry.get("crd")
        try:
            if schema is not None:
                results.append(crdvalidate.custom_resource(document, schema, payload.get("strict", True)))
            else:
                results.append(builtin(document, version, payload.get("strict", True)))
        except crdvalidate.StandinError as error:
            results.append({"result": "standin", "message": str(error)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
