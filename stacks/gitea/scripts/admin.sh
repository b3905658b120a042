#!/bin/sh
# admin.sh check|apply: the administrator logs in with islet's password and is an admin.
# apply creates it with Gitea's CLI, or sets islet's password again when it was changed.
# (Gitea's CLI takes the password as a flag only; it shows in the git node's process list for a moment.)
set -eu
. /opt/islet/lib/gitea-api.sh
if [ "$1" = check ]; then
  gitea_api "basic $ADMIN:$PASSWORD" GET /api/v1/user | grep -Eq '"is_admin": *true'
  exit
fi
if gitea_cli admin user list --admin | awk 'NR > 1 {print $2}' | grep -qxF "$ADMIN"; then
  gitea_cli admin user change-password --username "$ADMIN" --password "$PASSWORD" --must-change-password=false
else
  gitea_cli admin user create --admin --username "$ADMIN" --password "$PASSWORD" \
    --email "$ADMIN@noreply.islet.internal" --must-change-password=false
fi
