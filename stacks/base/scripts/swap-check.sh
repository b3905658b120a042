#!/bin/sh
# Passes when no uncommented fstab line mounts swap.
fstab="$ISLET_ROOT/etc/fstab"
[ -f "$fstab" ] || exit 0
! grep -Eq '^[[:space:]]*[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]' "$fstab"
