#!/bin/sh
# Sets the running host name and the one kept for boot. hostnamectl needs systemd-hostnamed; the two
# files and the hostname call do the same on every supported system.
set -eu
printf '%s\n' "$NODE_NAME" > "$ISLET_ROOT/etc/hostname.islet-new"
chmod 0644 "$ISLET_ROOT/etc/hostname.islet-new"
mv -f "$ISLET_ROOT/etc/hostname.islet-new" "$ISLET_ROOT/etc/hostname"
hostname "$NODE_NAME"
