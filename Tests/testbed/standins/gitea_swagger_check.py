"""Checks recorded Gitea API responses against Gitea's swagger.json with bravado-core (Swagger 2.0), run by
the pinned test tools' python (/opt/islet-test-tools/bin/python, see scripts/install-dependencies).

    gitea_swagger_check.py SWAGGER.json < responses.jsonl

Each input line: {"method", "path" (the spec's template, e.g. /repos/{owner}/{repo}), "status",
"content_type", "body" (text)}. For each: the operation must exist in the spec; a declared status's body
is validated against the declared schema (or must be empty when the spec declares none); an undeclared
status is accepted only from the list of real Gitea behaviours the spec leaves out (ALLOWED_UNDECLARED),
and its body must be Gitea's APIError shape. Strict on field names: every object schema with properties
refuses other fields (the spec leaves additionalProperties open, which would let a misspelt field pass).
Prints one line per failure and exits 1 if any.
"""

import json
import sys

from bravado_core.response import OutgoingResponse, get_response_spec, validate_response_body
from bravado_core.spec import Spec

# Statuses real Gitea 1.26 returns that its swagger.json does not declare for the operation:
# 401 from reqToken / reqBasicOrRevProxyAuth and a failed Basic login (any route), 403 from
# tokenRequiresScopes / must-change-password (any route), 409 from repo creation when the name exists,
# 422 from request binding, and 405 for a known path with another method.
ALLOWED_UNDECLARED = {401, 403, 405, 409, 422}


class Response(OutgoingResponse):
    def __init__(self, content_type, text):
        self.content_type = content_type
        self.text = text
        self.raw_bytes = text.encode()
        self.headers = {}

    def json(self, **_):
        return json.loads(self.text)


def strict(node):
    """additionalProperties: false on every object schema that lists its properties and says nothing else."""
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict) and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    strict(spec["definitions"])
    # bravado-core turns apiKey-in-query security definitions into parameters and then refuses the spec because
    # some operations have a query parameter of the same name ("token"); the query-auth definitions do not
    # affect responses, so they are dropped from the global security list before the spec is built
    spec["security"] = [s for s in spec.get("security", []) if not ({"Token", "AccessToken", "SudoParam"} & set(s))]
    swagger = Spec.from_dict(spec, config={"use_models": False, "validate_swagger_spec": False,
                                           "validate_responses": True, "validate_requests": False})
    operations = {}
    for resource in swagger.resources.values():
        for op in resource.operations.values():
            operations[(op.http_method.upper(), op.path_name)] = op
    failures, checked = [], 0
    for line in sys.stdin:
        if not line.strip():
            continue
        entry = json.loads(line)
        where = f"{entry['method']} {entry['path']} {entry['status']}"
        op = operations.get((entry["method"], entry["path"]))
        if op is None:
            if entry["status"] == 405 and any(path == entry["path"] for _, path in operations):
                checked += 1
                continue
            failures.append(f"{where}: no such operation in swagger.json")
            continue
        content_type = entry["content_type"].split(";")[0].strip()
        declared = str(entry["status"]) in op.op_spec["responses"]
        checked += 1
        if not declared:
            if entry["status"] not in ALLOWED_UNDECLARED:
                failures.append(f"{where}: status not declared by swagger.json for {op.operation_id}")
                continue
            if entry["status"] == 405:
                continue
            try:
                body = json.loads(entry["body"])
            except ValueError:
                failures.append(f"{where}: undeclared status without a JSON error body")
                continue
            if not (isinstance(body, dict) and isinstance(body.get("message"), str)):
                failures.append(f"{where}: undeclared status without Gitea's error shape: {entry['body'][:200]}")
            continue
        response_spec = get_response_spec(entry["status"], op)
        if response_spec.get("schema") is None:
            # go-swagger declares Gitea's error fields (message, url) as headers; the body is JSON or empty
            if entry["body"] and content_type != "application/json":
                failures.append(f"{where}: error body is not JSON")
            continue
        try:
            validate_response_body(op, response_spec, Response(content_type, entry["body"]))
        except Exception as error:  # bravado raises jsonschema and mapping errors alike
            failures.append(f"{where}: {str(error).splitlines()[0]}")
    for failure in failures:
        print(failure)
    print(f"swagger check: {checked} responses, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
