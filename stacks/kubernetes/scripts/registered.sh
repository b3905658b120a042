#!/bin/sh
# Waits until the kubelet has registered this node (the kubelet's own credentials may read its Node).
set -eu
i=0
until kubectl --kubeconfig "$ISLET_ROOT/etc/kubernetes/kubelet.conf" get node "$NODE_NAME" -o name > /dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "node $NODE_NAME did not register with the API server within a minute"
    exit 1
  fi
  sleep 1
done
