#!/bin/sh
# Folders islet and later stacks write to. Idempotent: mkdir -p and chmod only.
set -eu
mkdir -p "$ISLET_ROOT/etc/islet" "$ISLET_ROOT$DATA_DIR" "$ISLET_ROOT/opt/islet/bin"
chmod 0755 "$ISLET_ROOT/etc/islet" "$ISLET_ROOT/opt/islet/bin"
chmod 0700 "$ISLET_ROOT$DATA_DIR"
