#!/bin/sh
# The git system user and its data folder (Gitea refuses to run as root).
set -eu
if ! id -u git > /dev/null 2>&1; then
  useradd --system --user-group --home-dir "$DATA_DIR" --shell /bin/sh --comment "Gitea, managed by islet" git
fi
mkdir -p "$ISLET_ROOT$DATA_DIR"
chown git:git "$ISLET_ROOT$DATA_DIR"
chmod 0750 "$ISLET_ROOT$DATA_DIR"
