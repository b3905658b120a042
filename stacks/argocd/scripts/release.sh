#!/bin/sh
# release.sh check|apply: the argo-cd release.
# check: helm reports it deployed at the pinned chart version, every Deployment and StatefulSet in argocd is
#        rolled out, and the admin password is readable (reported as an output, so an adopted release records it).
# apply: helm upgrade --install with the values islet wrote, waiting for the workloads.
set -eu
kubeconfig="$ISLET_ROOT/etc/kubernetes/admin.conf"
values="$ISLET_ROOT/etc/kubernetes/islet/argocd-values.yaml"
helm() { /usr/local/bin/helm --kubeconfig "$kubeconfig" "$@"; }
k() { kubectl --kubeconfig "$kubeconfig" -n argocd "$@"; }

outputs() {
  password=$(k get secret argocd-initial-admin-secret -o jsonpath='{.data.password}') || return 1
  [ -n "$password" ] || return 1
  echo "ADMIN_PASSWORD=$(printf '%s' "$password" | base64 -d)" >> "$ISLET_OUTPUT"
  echo "URL=http://$NODE_ADDRESS:$NODE_PORT/" >> "$ISLET_OUTPUT"
}

# Every Deployment and StatefulSet of the namespace is rolled out (and there is at least one).
rolled_out() {
  workloads=$(k get deployments -o name) && more=$(k get statefulsets -o name) || return 1
  workloads="$workloads $more"
  [ -n "${workloads% }" ] || return 1
  for workload in $workloads; do
    k rollout status "$workload" --timeout="$1" > /dev/null || return 1
  done
}

if [ "$1" = check ]; then
  status=$(helm status argocd -n argocd -o json 2> /dev/null) || exit 1
  printf '%s' "$status" | grep -Eq '"status": *"deployed"' || exit 1
  printf '%s' "$status" | grep -Eq "\"version\": *\"$CHART_VERSION\"" || exit 1
  rolled_out 5s && outputs
  exit
fi
helm upgrade --install argocd "$ISLET_ROOT$CHART" -n argocd --create-namespace -f "$values" --wait --timeout 10m
rolled_out 300s
# Argo CD makes its admin password at its first start; wait for it.
i=0
until outputs; do
  i=$((i + 1))
  [ "$i" -lt 60 ] || { echo "argocd-initial-admin-secret did not appear"; exit 1; }
  sleep 1
done
