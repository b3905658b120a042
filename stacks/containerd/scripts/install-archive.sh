#!/bin/sh
# install-archive.sh check|apply FOLDER MEMBER...: the members of the tarball $ARCHIVE, installed at their
# paths under FOLDER (bin/ctr under /usr/local is /usr/local/bin/ctr, as `tar -C /usr/local -x` would put it).
# check compares each installed file with its member byte for byte.
set -eu
mode=$1 folder=$ISLET_ROOT$2
shift 2
for member in "$@"; do
  target="$folder/${member#./}"
  if [ "$mode" = check ]; then
    [ -x "$target" ] && tar -xzOf "$ISLET_ROOT$ARCHIVE" "$member" | cmp -s - "$target" || exit 1
  else
    mkdir -p "$(dirname "$target")"
    tar -xzOf "$ISLET_ROOT$ARCHIVE" "$member" > "$target.islet-new"
    chmod 0755 "$target.islet-new"
    mv -f "$target.islet-new" "$target"
  fi
done
