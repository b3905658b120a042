#!/bin/sh
# containerd's registry host files (hosts.toml, docs/hosts.md of containerd), written whole:
# - the internal registry itself: HTTPS trusting only islet's registry authority (its certificate in
#   /etc/islet/containerd/registry-ca.crt), or plain HTTP when that file is empty (registry.tls false);
# - each mirrored upstream (one per line of /etc/islet/containerd/mirrored-registries), resolved through the
#   internal registry, where an image keeps its upstream host as the first path element
#   (REGISTRY/registry.k8s.io/pause), hence override_path. The upstream server line stays for what
#   containerd needs to name it, but no capability is granted to it: no pull leaves the network.
# Folders islet wrote carry a marker, so a registry taken off the list loses its folder and nothing else does.
set -eu
certs="$ISLET_ROOT/etc/containerd/certs.d"
internal="$REGISTRY_HOST:$REGISTRY_PORT"
list="$ISLET_ROOT/etc/islet/containerd/mirrored-registries"

server_of() {
  case "$1" in
    docker.io) echo "https://registry-1.docker.io" ;;
    *) echo "https://$1" ;;
  esac
}

# The path containerd reads, as the node sees it.
ca=/etc/islet/containerd/registry-ca.crt
if [ -s "$ISLET_ROOT$ca" ]; then scheme=https; else scheme=http; fi

# The wanted hosts.toml of host $1, on stdout.
render() {
  if [ "$1" = "$internal" ]; then
    printf 'server = "%s://%s"\n\n[host."%s://%s"]\n  capabilities = ["pull", "resolve", "push"]\n' \
      "$scheme" "$internal" "$scheme" "$internal"
  else
    printf 'server = "%s"\n\n[host."%s://%s/v2/%s"]\n  capabilities = ["pull", "resolve"]\n  override_path = true\n' \
      "$(server_of "$1")" "$scheme" "$internal" "$1"
  fi
  if [ "$scheme" = https ]; then printf '  ca = "%s"\n' "$ca"; fi
}

wanted() { echo "$internal"; grep -v '^[[:space:]]*$' "$list"; }

case "$1" in
  check)
    [ -f "$list" ] || exit 1
    for host in $(wanted); do
      render "$host" | cmp -s - "$certs/$host/hosts.toml" || exit 1
    done
    for marker in "$certs"/*/.islet; do
      [ -f "$marker" ] || continue
      host=$(basename "$(dirname "$marker")")
      wanted | grep -qxF "$host" || exit 1
    done
    ;;
  apply)
    for host in $(wanted); do
      mkdir -p "$certs/$host"
      : > "$certs/$host/.islet"
      render "$host" > "$certs/$host/hosts.toml.islet-new"
      mv -f "$certs/$host/hosts.toml.islet-new" "$certs/$host/hosts.toml"
    done
    for marker in "$certs"/*/.islet; do
      [ -f "$marker" ] || continue
      folder=$(dirname "$marker")
      wanted | grep -qxF "$(basename "$folder")" || rm -rf "$folder"
    done
    ;;
  remove)
    for marker in "$certs"/*/.islet; do
      [ -f "$marker" ] && rm -rf "$(dirname "$marker")"
    done
    ;;
esac
