#!/bin/sh
# The ports the node's roles will listen on must be free before the first install. A port held by the
# program islet installs there (after the install) passes, so the check keeps passing; anything else
# holding it fails, naming the port and the process.
set -u
wanted=""
case "$NODE_ROLES" in *'"control-plane"'*) wanted="6443:kube-apiserver 2379:etcd 2380:etcd 10257:kube-controller 10259:kube-scheduler" ;; esac
case "$NODE_ROLES" in *'"control-plane"'* | *'"worker"'*) wanted="$wanted 10250:kubelet" ;; esac
case "$NODE_ROLES" in *'"registry"'*) wanted="$wanted $REGISTRY_PORT:registry" ;; esac

listeners=$(ss -Hltnp 2>/dev/null) || { echo "ss (iproute2) is needed to check ports"; exit 1; }
status=0
for entry in $wanted; do
  port=${entry%%:*}
  owner=${entry#*:}
  # Listeners on this port that this node would clash with: any address, or the node's own.
  busy=$(printf '%s\n' "$listeners" | awk -v p=":$port" -v a="$NODE_ADDRESS:$port" \
    '$4 ~ p"$" && ($4 == a || $4 == "0.0.0.0"p || $4 == "*"p || $4 == "[::]"p) {print}')
  [ -n "$busy" ] || continue
  case "$busy" in *"\"$owner"*) continue ;; esac
  echo "port $port is already in use (needed by $owner): $busy"
  status=1
done
exit "$status"
