#!/bin/sh
# trust.sh check|apply|remove: islet's registry authority (/etc/islet/registry-ca.crt, written by islet) in the
# node's system trust store, so that any tool on the node (curl, skopeo, podman) trusts the registry as
# containerd does. Debian and Ubuntu: update-ca-certificates; RHEL and Rocky: update-ca-trust.
set -eu
kept="$ISLET_ROOT/etc/islet/registry-ca.crt"
case "$OS" in
  rhel | rocky | centos | almalinux)
    anchor="$ISLET_ROOT/etc/pki/ca-trust/source/anchors/islet-registry-ca.crt"
    bundle="$ISLET_ROOT/etc/pki/tls/certs/ca-bundle.crt"
    refresh() { update-ca-trust extract; }
    ;;
  *)
    anchor="$ISLET_ROOT/usr/local/share/ca-certificates/islet-registry-ca.crt"
    bundle="$ISLET_ROOT/etc/ssl/certs/ca-certificates.crt"
    refresh() { update-ca-certificates > /dev/null; }
    ;;
esac
# A certificate's base64 body on one line: what the system bundle holds once the authority is in it.
body() { sed -e '/-----/d' "$1" | tr -d '\n'; }

case "$1" in
  check)
    cmp -s "$kept" "$anchor" && tr -d '\n' < "$bundle" | grep -qF "$(body "$kept")"
    ;;
  apply)
    mkdir -p "$(dirname "$anchor")"
    cp "$kept" "$anchor.islet-new" && chmod 0644 "$anchor.islet-new" && mv -f "$anchor.islet-new" "$anchor"
    refresh
    ;;
  remove)
    rm -f "$anchor" "$kept"
    refresh
    ;;
esac
