"""What the containers of the platform's applications do when they start, which the testbed cannot run.

Only what the stacks rely on: argocd-server, at its first start without an admin password in argocd-secret,
makes the Secret argocd-initial-admin-secret with a random password (upstream: util/settings
InitializeSettings / server's initial admin password), which the argocd stack reads back.
"""

import base64
import secrets
import string

from . import cluster


def _running_containers(pod):
    if (pod.get("status") or {}).get("phase") != "Running":
        return []
    return (pod.get("spec") or {}).get("containers") or []


def _is_argocd_server(container):
    argv = list(container.get("command") or []) + list(container.get("args") or [])
    return bool(argv) and argv[0].rsplit("/", 1)[-1] == "argocd-server"


def sync():
    for pod in cluster.list_objects("Pod", "v1"):
        if any(_is_argocd_server(c) for c in _running_containers(pod)):
            _initial_admin_secret(pod["metadata"]["namespace"])


def _initial_admin_secret(namespace):
    settings = cluster.get("Secret", "v1", namespace, "argocd-secret") or {}
    if (settings.get("data") or {}).get("admin.password"):
        return
    if cluster.get("Secret", "v1", namespace, "argocd-initial-admin-secret"):
        return
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
    cluster.put({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "argocd-initial-admin-secret", "namespace": namespace},
        "data": {"password": base64.b64encode(password.encode()).decode()},
    })
