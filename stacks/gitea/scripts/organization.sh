#!/bin/sh
# Creates the organisation (private, with an e-mail: Gitea shows it to signed-in readers).
set -eu
. /opt/islet/lib/gitea-api.sh
body="{\"username\": $(json_string "$ORG"), \"email\": $(json_string "$ORG@noreply.islet.internal"), \"visibility\": \"private\"}"
if ! gitea_api "basic $ADMIN:$ADMIN_PASSWORD" POST /api/v1/orgs "$body"; then
  echo "creating organisation $ORG failed with HTTP $GITEA_STATUS"
  exit 1
fi
