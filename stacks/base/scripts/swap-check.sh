#!/bin/sh
# Passes when no swap is active and no uncommented fstab line would turn it on at boot.
[ -z "$(swapon --show --noheadings)" ] || exit 1
fstab="$ISLET_ROOT/etc/fstab"
[ -f "$fstab" ] || exit 0
! grep -Eq '^[[:space:]]*[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]' "$fstab"
