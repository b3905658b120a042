#!/bin/sh
# Keeps the lines of /etc/islet/hosts (rendered by islet) in /etc/hosts between two marker lines, leaving
# every other line as the operator wrote it. check: the block is there and current; apply: replace or add
# it; remove: take it out.
set -eu
hosts="$ISLET_ROOT/etc/hosts"
wanted="$ISLET_ROOT/etc/islet/hosts"
begin='# BEGIN islet: managed block, edits are undone by islet apply'
end='# END islet'

# /etc/hosts without islet's block.
others() { [ -f "$hosts" ] && awk -v b="$begin" -v e="$end" '$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' "$hosts"; }
# islet's block as it is in /etc/hosts.
current() { [ -f "$hosts" ] && awk -v b="$begin" -v e="$end" '$0 == b {keep = 1; next} $0 == e {keep = 0} keep {print}' "$hosts"; }

write() {
  others > "$hosts.islet-new" || true
  if [ "$1" = with-block ]; then
    { echo "$begin"; cat "$wanted"; echo "$end"; } >> "$hosts.islet-new"
  fi
  chmod 0644 "$hosts.islet-new"
  mv -f "$hosts.islet-new" "$hosts"
}

case "$1" in
  check) [ -f "$wanted" ] && current | cmp -s - "$wanted" ;;
  apply) write with-block ;;
  remove) write without-block ;;
esac
