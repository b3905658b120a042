#!/bin/sh
# Creates $DIR if missing, then sets its mode and owner.
set -eu
mkdir -p "$ISLET_ROOT$DIR"
chmod "$MODE" "$ISLET_ROOT$DIR"
chown "$OWNER" "$ISLET_ROOT$DIR"
