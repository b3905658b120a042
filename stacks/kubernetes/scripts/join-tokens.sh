#!/bin/sh
# One bootstrap token per cluster node, so each node that joins in this apply uses its own (a token is a
# credential: one leaked from a node's join lets nothing else in). Tokens expire after 15 minutes; those of
# nodes that do not join go unused. Output: TOKENS=node1=TOKEN,node2=TOKEN,...
set -eu
tokens=""
for node in $(sort -u "$ISLET_ROOT/etc/kubernetes/islet/join-nodes"); do
  token=$(kubeadm token create --ttl 15m0s --description "islet: join of $node")
  tokens="$tokens${tokens:+,}$node=$token"
done
echo "TOKENS=$tokens" >> "$ISLET_OUTPUT"
