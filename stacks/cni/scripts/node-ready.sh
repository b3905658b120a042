#!/bin/sh
# node-ready.sh check|apply: this node's Ready condition is True, read with the kubelet's own credentials;
# apply waits for it (flannel's pod must start on the node first).
set -eu
ready() {
  [ "$(kubectl --kubeconfig "$ISLET_ROOT/etc/kubernetes/kubelet.conf" get node "$NODE_NAME" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
if [ "$1" = check ]; then
  ready
  exit
fi
i=0
until ready; do
  i=$((i + 1))
  if [ "$i" -ge 180 ]; then
    echo "node $NODE_NAME is not Ready after 3 minutes"
    exit 1
  fi
  sleep 1
done
