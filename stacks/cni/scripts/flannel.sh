#!/bin/sh
# flannel.sh check|apply. check: the daemonset is rolled out on every node and every node is Ready.
# apply: kubectl apply of the manifest islet wrote, then wait for that.
set -eu
admin="$ISLET_ROOT/etc/kubernetes/admin.conf"
manifest="$ISLET_ROOT/etc/kubernetes/islet/kube-flannel.yml"
k() { kubectl --kubeconfig "$admin" "$@"; }

if [ "$1" = apply ]; then
  k apply -f "$manifest"
  k -n kube-flannel rollout status ds/kube-flannel-ds --timeout=180s
  k wait --for=condition=Ready nodes --all --timeout=180s
  exit 0
fi
k -n kube-flannel rollout status ds/kube-flannel-ds --timeout=5s > /dev/null 2>&1 &&
  k wait --for=condition=Ready nodes --all --timeout=5s > /dev/null 2>&1
