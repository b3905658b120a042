#!/bin/sh
# join.sh check | join.sh apply worker|control-plane
# check: the node has joined (kubelet.conf, the kubelet running, and for a control plane its API server
#        manifest).
# apply: joins with the token (and certificate key) made in this apply. A node with a half-done or broken
#        join (a kubelet.conf deleted) is reset first, on this node only, then joins again.
set -eu
k8s="$ISLET_ROOT/etc/kubernetes"

joined() {
  [ -f "$k8s/kubelet.conf" ] && systemctl is-active --quiet kubelet || return 1
  case "$NODE_ROLES_WANTED" in control-plane) [ -f "$k8s/manifests/kube-apiserver.yaml" ] ;; esac
}

if [ "$1" = check ]; then
  NODE_ROLES_WANTED=${2:-}
  joined
  exit
fi
NODE_ROLES_WANTED=$2
# The first control plane: init has already joined it.
if joined; then exit 0; fi

if [ -e "$k8s/kubelet.conf" ] || [ -n "$(ls -A "$k8s/manifests" 2>/dev/null)" ] || [ -f "$ISLET_ROOT/var/lib/kubelet/config.yaml" ]; then
  kubeadm reset -f
  rm -rf "$ISLET_ROOT/etc/cni/net.d"
fi

# This node's own token, out of TOKENS=node=TOKEN,...
TOKEN=$(printf '%s\n' "$TOKENS" | tr ',' '\n' | sed -n "s/^$NODE_NAME=//p")
[ -n "$TOKEN" ] || { echo "no join token was made for $NODE_NAME"; exit 1; }

# The configuration holds the token: readable by root only, and gone when the join is done.
umask 077
mkdir -p "$k8s"
config="$k8s/kubeadm-join.yaml"
trap 'rm -f "$config"' EXIT
{
  echo "apiVersion: kubeadm.k8s.io/v1beta4"
  echo "kind: JoinConfiguration"
  echo "discovery:"
  echo "  bootstrapToken:"
  echo "    apiServerEndpoint: \"$ENDPOINT\""
  echo "    token: \"$TOKEN\""
  echo "    caCertHashes: [\"$CA_HASH\"]"
  echo "nodeRegistration:"
  echo "  name: \"$NODE_NAME\""
  echo "  criSocket: unix:///run/containerd/containerd.sock"
  echo "  imagePullPolicy: IfNotPresent"
  echo "  kubeletExtraArgs:"
  echo "    - name: node-ip"
  echo "      value: \"$NODE_ADDRESS\""
  if [ "$NODE_ROLES_WANTED" = control-plane ]; then
    echo "controlPlane:"
    echo "  localAPIEndpoint:"
    echo "    advertiseAddress: \"$NODE_ADDRESS\""
    echo "    bindPort: 6443"
    echo "  certificateKey: \"$CERTIFICATE_KEY\""
  fi
} > "$config"

# A node rejoining under its old name waits until the control plane sees its old registration NotReady.
i=0
until output=$(kubeadm join --config "$config" 2>&1); do
  echo "$output"
  case "$output" in *"already exists in the cluster"*) ;; *) exit 1 ;; esac
  i=$((i + 1))
  [ "$i" -lt 12 ] || exit 1
  sleep 5
done
echo "$output"
