#!/bin/sh
# Runs on a remaining control plane when node $ISLET_TARGET_NODE leaves the inventory: drain it, delete it,
# and remove its etcd member if it was a control plane (kubeadm names members after nodes). The node itself
# is reset afterwards by the join step's remove.
set -eu
admin="$ISLET_ROOT/etc/kubernetes/admin.conf"
k() { kubectl --kubeconfig "$admin" "$@"; }

if k get node "$ISLET_TARGET_NODE" -o name > /dev/null 2>&1; then
  k drain "$ISLET_TARGET_NODE" --ignore-daemonsets --delete-emptydir-data --force --timeout=120s
  k delete node "$ISLET_TARGET_NODE" --ignore-not-found
fi

# `member list` prints: ID, status, name, peer URLs, client URLs, is learner.
members=$(k -n kube-system exec "etcd-$ISLET_NODE" -- etcdctl --endpoints=https://127.0.0.1:2379 \
  --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt \
  --key=/etc/kubernetes/pki/etcd/server.key member list)
id=$(printf '%s\n' "$members" | awk -F', ' -v n="$ISLET_TARGET_NODE" '$3 == n {print $1}')
if [ -n "$id" ]; then
  k -n kube-system exec "etcd-$ISLET_NODE" -- etcdctl --endpoints=https://127.0.0.1:2379 \
    --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt \
    --key=/etc/kubernetes/pki/etcd/server.key member remove "$id"
fi
