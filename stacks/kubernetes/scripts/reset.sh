#!/bin/sh
# Undoes a join on the node itself (the node is leaving the cluster; a control plane has drained and deleted it
# already): kubeadm reset, then what reset leaves behind by its own account: CNI configuration and iptables rules.
set -u
kubeadm reset -f
rm -rf "$ISLET_ROOT/etc/cni/net.d" "$ISLET_ROOT/etc/kubernetes/islet"
for tool in iptables ip6tables; do
  command -v "$tool" > /dev/null || continue
  "$tool" -F && "$tool" -t nat -F && "$tool" -t mangle -F && "$tool" -X
done
exit 0
