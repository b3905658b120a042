#!/bin/sh
# Puts $LINE into $FILE: replaces the lines matching $REGEXP, or appends it (on a line of its own).
# Rewrites in place (cat >) so the file keeps its inode, mode and owner.
set -eu
f="$ISLET_ROOT$FILE"
if [ -z "${REGEXP:-}" ]; then
  if [ -s "$f" ] && [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" != '\n' ]; then echo >> "$f"; fi
  printf '%s\n' "$LINE" >> "$f"
else
  t=$(mktemp)
  awk -v re="$REGEXP" -v line="$LINE" '$0 ~ re { print line; found = 1; next } { print } END { if (!found) print line }' "$f" > "$t"
  cat "$t" > "$f"
  rm -f "$t"
fi
