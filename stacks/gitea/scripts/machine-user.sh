#!/bin/sh
# Creates the machine user through the admin API (not forced to change its password), or sets islet's
# password again when the user exists.
set -eu
. /opt/islet/lib/gitea-api.sh
if gitea_api "basic $ADMIN:$ADMIN_PASSWORD" GET "/api/v1/users/$BOT" > /dev/null; then
  gitea_cli admin user change-password --username "$BOT" --password "$PASSWORD" --must-change-password=false
  exit 0
fi
body="{\"username\": $(json_string "$BOT"), \"login_name\": $(json_string "$BOT"), \"source_id\": 0,
  \"email\": $(json_string "$BOT@noreply.islet.internal"), \"password\": $(json_string "$PASSWORD"),
  \"must_change_password\": false}"
if ! gitea_api "basic $ADMIN:$ADMIN_PASSWORD" POST /api/v1/admin/users "$body" > /dev/null; then
  echo "creating user $BOT failed with HTTP $GITEA_STATUS"
  exit 1
fi
