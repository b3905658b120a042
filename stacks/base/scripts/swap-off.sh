#!/bin/sh
# Turns swap off now and comments out the fstab swap lines so it stays off after a reboot (a backup of
# fstab is kept beside it).
set -eu
swapoff -a
fstab="$ISLET_ROOT/etc/fstab"
[ -f "$fstab" ] || exit 0
cp -p "$fstab" "$fstab.islet-backup"
sed -E 's|^([[:space:]]*[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$|# disabled by islet: \1|' "$fstab" > "$fstab.islet-new"
chmod --reference="$fstab" "$fstab.islet-new"
mv -f "$fstab.islet-new" "$fstab"
