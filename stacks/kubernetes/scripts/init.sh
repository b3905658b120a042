#!/bin/sh
# init.sh check|apply: the first control plane.
# check: this node's API server answers /readyz and was initialised with the configuration islet wrote;
#        it also reports the outputs, so an adopted cluster records them.
# apply: kubeadm init with /etc/kubernetes/kubeadm.yaml, once. A configuration changed after init is refused:
#        changing a running cluster's kubeadm configuration is an upgrade, which islet does not do.
set -eu
k8s="$ISLET_ROOT/etc/kubernetes"
config="$k8s/kubeadm.yaml"
used="$k8s/islet/kubeadm-init.yaml"
admin="$k8s/admin.conf"

ready() { kubectl --kubeconfig "$admin" get --raw=/readyz > /dev/null 2>&1; }

outputs() {
  # The CA public key's hash, as joining nodes pin it (kubeadm join --discovery-token-ca-cert-hash).
  hash=$(openssl x509 -pubkey -in "$k8s/pki/ca.crt" | openssl pkey -pubin -outform der | openssl dgst -sha256 -hex)
  echo "CA_HASH=sha256:${hash##* }" >> "$ISLET_OUTPUT"
  echo "ADMIN_KUBECONFIG=$(base64 -w0 < "$admin")" >> "$ISLET_OUTPUT"
}

if [ "$1" = check ]; then
  [ -f "$admin" ] && cmp -s "$config" "$used" && ready || exit 1
  outputs
  exit 0
fi

if [ -f "$admin" ]; then
  if ! cmp -s "$config" "$used"; then
    echo "this control plane was initialised with another kubeadm configuration ($used):"
    diff -u "$used" "$config" || true
    echo "changing it on a running cluster is an upgrade, which islet does not do; put the inventory back as it was"
    exit 1
  fi
else
  # An init that stopped half way leaves files kubeadm's preflight refuses: start again from clean.
  if [ -f "$k8s/kubelet.conf" ] || [ -n "$(ls -A "$k8s/manifests" 2>/dev/null)" ]; then
    kubeadm reset -f
  fi
  kubeadm init --config "$config" --upload-certs
  mkdir -p "$k8s/islet"
  install -m 0600 "$config" "$used"
fi
i=0
until ready; do
  i=$((i + 1))
  if [ "$i" -ge 120 ]; then
    echo "the API server did not answer /readyz within 2 minutes"
    exit 1
  fi
  sleep 1
done
outputs
