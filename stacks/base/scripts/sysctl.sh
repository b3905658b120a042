#!/bin/sh
# check: every setting of islet's sysctl file has its value in the running kernel; apply: load the file.
set -eu
file="$ISLET_ROOT/etc/sysctl.d/90-islet-kubernetes.conf"
if [ "$1" = apply ]; then
  sysctl -p "$file" > /dev/null
  exit 0
fi
[ -f "$file" ] || exit 1
grep -E '^[a-z]' "$file" | while IFS='= ' read -r key value; do
  [ "$(sysctl -n "$key" 2>/dev/null)" = "$value" ] || exit 1
done
