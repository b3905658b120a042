#!/bin/sh
# Comments out swap lines so swap stays off after a reboot. `swapoff -a` belongs to the kubernetes
# stack, right before kubelet starts; this step only edits the file, keeping a backup.
set -eu
fstab="$ISLET_ROOT/etc/fstab"
[ -f "$fstab" ] || exit 0
cp -p "$fstab" "$fstab.islet-backup"
sed -E 's|^([[:space:]]*[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$|# disabled by islet: \1|' "$fstab" > "$fstab.islet-new"
chmod --reference="$fstab" "$fstab.islet-new"
mv -f "$fstab.islet-new" "$fstab"
