#!/bin/sh
# Passes when $FILE holds the line $LINE. With $REGEXP (an awk ERE): every line matching it is $LINE,
# and at least one does.
f="$ISLET_ROOT$FILE"
[ -f "$f" ] || exit 1
if [ -z "${REGEXP:-}" ]; then
  grep -qxF -- "$LINE" "$f"
else
  awk -v re="$REGEXP" -v line="$LINE" '$0 ~ re { n++; if ($0 != line) bad = 1 } END { exit (n && !bad) ? 0 : 1 }' "$f"
fi
