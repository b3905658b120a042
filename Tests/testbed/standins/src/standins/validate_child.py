"""Runs inside the pinned test venv (/opt/islet-test-tools), where kubernetes-validate is installed:
reads a JSON list of objects on stdin, prints one JSON result per object (ok, error, or no-schema)."""

import json
import sys

import kubernetes_validate.utils as utils


def main():
    version = sys.argv[1]
    results = []
    for document in json.load(sys.stdin):
        try:
            utils.validate(document, version, strict=True)
            results.append({"result": "ok"})
        except utils.ValidationError as error:
            results.append({"result": "error", "path": [str(p) for p in error.path], "message": error.message})
        except utils.SchemaNotFoundError:
            results.append({"result": "no-schema"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
