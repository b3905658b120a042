#!/bin/sh
# release.sh check|apply: the argocd-image-updater release.
# check: deployed at the pinned chart version, its Deployment rolled out, its configuration holds the
#        internal registry, and (registry.tls) the ConfigMap of the registry's authority holds islet's. apply: helm upgrade --install with the values islet wrote, then restart the
#        controller, which reads registries.conf only at start.
set -eu
kubeconfig="$ISLET_ROOT/etc/kubernetes/admin.conf"
values="$ISLET_ROOT/etc/kubernetes/islet/image-updater-values.yaml"
helm() { /usr/local/bin/helm --kubeconfig "$kubeconfig" "$@"; }
k() { kubectl --kubeconfig "$kubeconfig" -n argocd "$@"; }

# With registry.tls, the registry's authority in a ConfigMap the controller mounts into its trust store.
ca="$ISLET_ROOT/etc/kubernetes/islet/registry-ca.crt"
ca_map="$ISLET_ROOT/etc/kubernetes/islet/registry-ca-configmap.yaml"
ca_held() { [ "$(k get configmap islet-registry-ca -o jsonpath='{.data.ca\.crt}')" = "$(cat "$ca")" ]; }
write_ca_map() {
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: islet-registry-ca\n  namespace: argocd\ndata:\n  ca.crt: |\n'
  sed 's/^/    /' "$ca"
}

# With registry.auth, the registry's user for registries.conf: a Secret written from stdin, never argv.
credentials_held() {
  [ "$(k get secret islet-registry-credentials -o jsonpath='{.data.creds}' | base64 -d)" = "$REGISTRY_USERNAME:$REGISTRY_PASSWORD" ]
}
write_credentials() {
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: islet-registry-credentials\n  namespace: argocd\ntype: Opaque\ndata:\n  creds: %s\n' \
    "$(printf '%s:%s' "$REGISTRY_USERNAME" "$REGISTRY_PASSWORD" | base64 -w 0)" | k apply -f -
}

# The release's Deployments (the chart names its controller argocd-image-updater-controller).
controllers() { k get deployments -o name | grep '^deployment.apps/argocd-image-updater'; }
rolled_out() {
  deployments=$(controllers) || return 1
  for deployment in $deployments; do
    k rollout status "$deployment" --timeout="$1" > /dev/null || return 1
  done
}

if [ "$1" = check ]; then
  status=$(helm status argocd-image-updater -n argocd -o json 2> /dev/null) || exit 1
  printf '%s' "$status" | grep -Eq '"status": *"deployed"' || exit 1
  printf '%s' "$status" | grep -Eq "\"version\": *\"$CHART_VERSION\"" || exit 1
  rolled_out 5s || exit 1
  k get configmap argocd-image-updater-config -o jsonpath='{.data.registries\.conf}' | grep -qF "$REGISTRY_HOST:$REGISTRY_PORT" || exit 1
  if [ -s "$ca" ]; then ca_held || exit 1; fi
  if [ -n "$REGISTRY_PASSWORD" ]; then credentials_held; fi
  exit
fi
if [ -n "$REGISTRY_PASSWORD" ]; then
  write_credentials
else
  k delete secret islet-registry-credentials --ignore-not-found
fi
if [ -s "$ca" ]; then
  write_ca_map > "$ca_map"
  k apply -f "$ca_map"
else
  k delete configmap islet-registry-ca --ignore-not-found
fi
helm upgrade --install argocd-image-updater "$ISLET_ROOT$CHART" -n argocd -f "$values" --wait --timeout 10m
for deployment in $(controllers); do k rollout restart "$deployment"; done
rolled_out 300s
