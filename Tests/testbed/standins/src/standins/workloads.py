"""Deployments and StatefulSets in the simulated cluster: what the controller-manager (deployment,
replicaset and statefulset controllers) and the scheduler do, run by every kubelet stand-in under the
cluster lock (idempotent, so any kubelet that reaches the API server may run it), and the status the API
server shows (kubectl get / rollout status, helm --wait).

- A Deployment owns one ReplicaSet per pod template (NAME-HASH, label pod-template-hash), which owns
  spec.replicas (default 1) Pods NAME-HASH-XXXXX. A changed template makes a new ReplicaSet; the old one's
  pods are removed once the new ones all run (RollingUpdate) or at once (Recreate).
- A StatefulSet owns Pods NAME-0..N-1 (label controller-revision-hash NAME-HASH), created in order, each
  once the previous one runs (OrderedReady); a changed template replaces them from the highest ordinal.
- The scheduler binds a Pod to a Node that is Ready (its kubelet reports and has a CNI config), not
  cordoned, whose NoSchedule/NoExecute taints the pod tolerates and whose labels match its nodeSelector
  and required node affinity; among those, the one with the fewest pods. A control-plane node keeps
  kubeadm's NoSchedule taint: pods without a toleration wait for a worker, as on a real cluster.
- The kubelet of that node runs the pod: Running once its images pulled (kubelet.py).
A pod counts as ready when Running and its node's kubelet is alive.
"""

import hashlib
import json

from . import appbehaviour, cluster

REVISION = "controller-revision-hash"
TEMPLATE = "pod-template-hash"
OWNED = ("ReplicaSet", "StatefulSet")


def template_hash(template):
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    letters = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(letters[int(digest[i:i + 2], 16) % len(letters)] for i in range(0, 20, 2))


def replicas(obj):
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _owned_by(obj, owner_kind, owner):
    return any(o.get("kind") == owner_kind and o.get("uid") == owner["metadata"]["uid"]
               for o in obj["metadata"].get("ownerReferences") or [])


def _owner_reference(owner, api_version):
    return {"apiVersion": api_version, "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def replicasets_of(deployment):
    namespace = deployment["metadata"]["namespace"]
    return [rs for rs in cluster.list_objects("ReplicaSet", "apps/v1", namespace)
            if _owned_by(rs, "Deployment", deployment)]


def pods_of(owner, all_pods=None):
    namespace = owner["metadata"]["namespace"]
    pods = all_pods if all_pods is not None else cluster.list_objects("Pod", "v1", namespace)
    return [p for p in pods if p["metadata"].get("namespace") == namespace and _owned_by(p, owner["kind"], owner)]


def pod_ready(pod, alive):
    return (pod.get("status") or {}).get("phase") == "Running" and pod["spec"].get("nodeName") in alive


def alive_nodes():
    return {n["metadata"]["name"] for n in cluster.list_objects("Node", "v1")
            if cluster.fresh(cluster.report_for_node(n["metadata"]["name"]))}


def _new_pod(owner_rs_or_sts, api_version, template, name, extra_labels):
    meta = template.get("metadata") or {}
    labels = dict(meta.get("labels") or {}, **extra_labels)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": owner_rs_or_sts["metadata"]["namespace"], "labels": labels,
                         "annotations": dict(meta.get("annotations") or {}),
                         "ownerReferences": [_owner_reference(owner_rs_or_sts, api_version)]},
            "spec": json.loads(json.dumps(template.get("spec") or {})),
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]}}


# --- controllers (caller holds common.locked()) ---

def sync():
    """One pass of the garbage collector, the deployment, replicaset and statefulset controllers, then the
    scheduler."""
    _collect_garbage()
    for deployment in cluster.list_objects("Deployment", "apps/v1"):
        _sync_deployment(deployment)
    for statefulset in cluster.list_objects("StatefulSet", "apps/v1"):
        _sync_statefulset(statefulset)
    _schedule()
    appbehaviour.sync()


def _collect_garbage():
    """ReplicaSets and Pods whose owning Deployment, ReplicaSet or StatefulSet is gone are deleted."""
    uids = {o["metadata"]["uid"] for kind in ("Deployment", "ReplicaSet", "StatefulSet")
            for o in cluster.list_objects(kind, "apps/v1")}
    for kind, version in (("ReplicaSet", "apps/v1"), ("Pod", "v1")):
        for obj in cluster.list_objects(kind, version):
            owners = [o for o in obj["metadata"].get("ownerReferences") or []
                      if o.get("kind") in ("Deployment", "ReplicaSet", "StatefulSet")]
            if owners and not any(o.get("uid") in uids for o in owners):
                cluster.delete(kind, version, obj["metadata"]["namespace"], obj["metadata"]["name"])


def _sync_deployment(deployment):
    spec = deployment.get("spec") or {}
    template = spec.get("template") or {}
    digest = template_hash(template)
    name = f"{deployment['metadata']['name']}-{digest}"
    namespace = deployment["metadata"]["namespace"]
    sets = replicasets_of(deployment)
    current = next((rs for rs in sets if rs["metadata"]["name"] == name), None)
    want = replicas(deployment)
    if current is None:
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **{TEMPLATE: digest})
        current = cluster.put({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "annotations": {"deployment.kubernetes.io/revision": str(len(sets) + 1)},
                         "ownerReferences": [_owner_reference(deployment, "apps/v1")]},
            "spec": {"replicas": want, "selector": {"matchLabels": dict(
                (spec.get("selector") or {}).get("matchLabels") or {}, **{TEMPLATE: digest})},
                "template": dict(template, metadata=dict(template.get("metadata") or {}, labels=labels))}})
    elif (current.get("spec") or {}).get("replicas") != want:
        current["spec"]["replicas"] = want
        cluster.put(current)
    all_pods = cluster.list_objects("Pod", "v1", namespace)
    pods = pods_of(current, all_pods)
    for index in range(len(pods), want):
        suffix = cluster.pod_suffix(current["metadata"]["uid"], str(index), cluster.timestamp())
        cluster.put(_new_pod(current, "apps/v1", current["spec"]["template"], f"{name}-{suffix}",
                             {TEMPLATE: digest}))
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"])[want:]:
        cluster.delete("Pod", "v1", namespace, pod["metadata"]["name"])
    alive = alive_nodes()
    new_ready = sum(1 for p in pods_of(current, cluster.list_objects("Pod", "v1", namespace)) if pod_ready(p, alive))
    recreate = (spec.get("strategy") or {}).get("type") == "Recreate"
    for old in sets:
        if old["metadata"]["name"] == name:
            continue
        if recreate or new_ready >= want:
            for pod in pods_of(old, all_pods):
                cluster.delete("Pod", "v1", namespace, pod["metadata"]["name"])
            cluster.delete("ReplicaSet", "apps/v1", namespace, old["metadata"]["name"])


def _sync_statefulset(statefulset):
    spec = statefulset.get("spec") or {}
    template = spec.get("template") or {}
    revision = f"{statefulset['metadata']['name']}-{template_hash(template)}"
    namespace = statefulset["metadata"]["namespace"]
    pods = {p["metadata"]["name"]: p for p in pods_of(statefulset)}
    alive = alive_nodes()
    want = replicas(statefulset)
    base = statefulset["metadata"]["name"]
    for ordinal in range(want):
        name = f"{base}-{ordinal}"
        pod = pods.get(name)
        if pod is None:
            labels = {REVISION: revision, "statefulset.kubernetes.io/pod-name": name,
                      "apps.kubernetes.io/pod-index": str(ordinal)}
            cluster.put(_new_pod(statefulset, "apps/v1", template, name, labels))
            return  # OrderedReady: one pod at a time
        if not pod_ready(pod, alive):
            return
    for name, pod in pods.items():
        ordinal = name.rsplit("-", 1)[-1]
        if not ordinal.isdigit() or int(ordinal) >= want:
            cluster.delete("Pod", "v1", namespace, name)
    # rolling update: the highest ordinal not at the update revision goes first, once all others run
    stale = sorted((p for p in pods.values() if p["metadata"].get("labels", {}).get(REVISION) != revision),
                   key=lambda p: -int(p["metadata"]["name"].rsplit("-", 1)[-1]))
    if stale:
        cluster.delete("Pod", "v1", namespace, stale[0]["metadata"]["name"])


def _schedule():
    nodes = cluster.list_objects("Node", "v1")
    pods = cluster.list_objects("Pod", "v1")
    load = {}
    for pod in pods:
        node = pod["spec"].get("nodeName")
        if node:
            load[node] = load.get(node, 0) + 1
    for pod in pods:
        owners = pod["metadata"].get("ownerReferences") or []
        if pod["spec"].get("nodeName") or not owners or owners[0].get("kind") not in OWNED:
            continue
        reasons = {}
        candidates = []
        for node in nodes:
            if (node.get("spec") or {}).get("unschedulable"):
                reasons["node(s) were unschedulable"] = reasons.get("node(s) were unschedulable", 0) + 1
            elif not cluster.node_ready(node):
                reasons["node(s) had untolerated taint {node.kubernetes.io/not-ready: }"] = \
                    reasons.get("node(s) had untolerated taint {node.kubernetes.io/not-ready: }", 0) + 1
            elif not cluster.schedulable_on(pod["spec"], node):
                reasons["node(s) didn't match Pod's node affinity/selector or had untolerated taints"] = \
                    reasons.get("node(s) didn't match Pod's node affinity/selector or had untolerated taints", 0) + 1
            else:
                candidates.append(node["metadata"]["name"])
        if not candidates:
            why = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
            message = f"0/{len(nodes)} nodes are available: {why}." if nodes else "no nodes available to schedule pods"
            condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
            if (pod.get("status") or {}).get("conditions") != [condition]:
                pod["status"] = {"phase": "Pending", "conditions": [condition]}
                cluster.put(pod)
            continue
        chosen = min(candidates, key=lambda n: (load.get(n, 0), n))
        load[chosen] = load.get(chosen, 0) + 1
        pod["spec"]["nodeName"] = chosen
        pod["status"] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}
        cluster.put(pod)


# --- status as the API server shows it ---

def deployment_status(deployment):
    generation = deployment["metadata"].get("generation", 1)
    digest = template_hash((deployment.get("spec") or {}).get("template") or {})
    alive = alive_nodes()
    namespace_pods = cluster.list_objects("Pod", "v1", deployment["metadata"]["namespace"])
    pods = [p for rs in replicasets_of(deployment) for p in pods_of(rs, namespace_pods)]
    updated = [p for p in pods if p["metadata"].get("labels", {}).get(TEMPLATE) == digest]
    ready = [p for p in pods if pod_ready(p, alive)]
    want = replicas(deployment)
    available = len(ready) >= want
    now = cluster.timestamp()
    status = {"observedGeneration": generation, "replicas": len(pods), "updatedReplicas": len(updated),
              "readyReplicas": len(ready), "availableReplicas": len(ready),
              "conditions": [
                  {"type": "Available", "status": "True" if available else "False",
                   "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
                   "message": "Deployment has minimum availability." if available else
                   "Deployment does not have minimum availability.", "lastUpdateTime": now,
                   "lastTransitionTime": now},
                  {"type": "Progressing", "status": "True",
                   "reason": "NewReplicaSetAvailable" if available and len(updated) == len(pods) else
                   "ReplicaSetUpdated", "message": f'ReplicaSet "{deployment["metadata"]["name"]}-{digest}" '
                   + ("has successfully progressed." if available else "is progressing."),
                   "lastUpdateTime": now, "lastTransitionTime": now}]}
    if len(pods) - len(ready):
        status["unavailableReplicas"] = len(pods) - len(ready)
    return status


def statefulset_status(statefulset):
    generation = statefulset["metadata"].get("generation", 1)
    revision = f"{statefulset['metadata']['name']}-{template_hash((statefulset.get('spec') or {}).get('template') or {})}"
    alive = alive_nodes()
    pods = pods_of(statefulset)
    ready = [p for p in pods if pod_ready(p, alive)]
    updated = [p for p in pods if p["metadata"].get("labels", {}).get(REVISION) == revision]
    complete = len(updated) == replicas(statefulset) and len(ready) == len(pods) == len(updated)
    current = revision if complete else next(
        (p["metadata"]["labels"].get(REVISION) for p in pods if p["metadata"]["labels"].get(REVISION) != revision),
        revision)
    return {"observedGeneration": generation, "replicas": len(pods), "readyReplicas": len(ready),
            "availableReplicas": len(ready), "currentReplicas": len(updated) if complete else len(pods) - len(updated),
            "updatedReplicas": len(updated), "currentRevision": current, "updateRevision": revision,
            "collisionCount": 0}


def rollout(obj):
    """(done, message) as kubectl rollout status prints it for a Deployment or StatefulSet."""
    name = obj["metadata"]["name"]
    if obj["kind"] == "Deployment":
        status = deployment_status(obj)
        want = replicas(obj)
        if status["updatedReplicas"] < want:
            return False, (f'Waiting for deployment "{name}" rollout to finish: {status["updatedReplicas"]} out of '
                           f"{want} new replicas have been updated...")
        if status["replicas"] > status["updatedReplicas"]:
            return False, (f'Waiting for deployment "{name}" rollout to finish: '
                           f'{status["replicas"] - status["updatedReplicas"]} old replicas are pending termination...')
        if status["availableReplicas"] < status["updatedReplicas"]:
            return False, (f'Waiting for deployment "{name}" rollout to finish: {status["availableReplicas"]} of '
                           f'{status["updatedReplicas"]} updated replicas are available...')
        return True, f'deployment "{name}" successfully rolled out'
    strategy = ((obj.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate"
    if strategy != "RollingUpdate":
        return True, "rollout status is only available for RollingUpdate strategy type"
    status = statefulset_status(obj)
    want = replicas(obj)
    if status["readyReplicas"] < want:
        return False, f"Waiting for {want - status['readyReplicas']} pods to be ready..."
    if status["updateRevision"] != status["currentRevision"]:
        return False, (f"waiting for statefulset rolling update to complete {status['updatedReplicas']} pods at "
                       f"revision {status['updateRevision']}...")
    return True, (f"statefulset rolling update complete {status['currentReplicas']} pods at revision "
                  f"{status['currentRevision']}...")
