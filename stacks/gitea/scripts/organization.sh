#!/bin/sh
# Creates the organisation when it is missing (private, with an e-mail: Gitea shows it to signed-in readers).
set -eu
. /opt/islet/lib/gitea-api.sh
# Already there (the check failed only because Gitea was down when planned): nothing to do.
if gitea_api "basic $ADMIN:$ADMIN_PASSWORD" GET "/api/v1/orgs/$ORG" > /dev/null; then exit 0; fi
body="{\"username\": $(json_string "$ORG"), \"email\": $(json_string "$ORG@noreply.islet.internal"), \"visibility\": \"private\"}"
if ! gitea_api "basic $ADMIN:$ADMIN_PASSWORD" POST /api/v1/orgs "$body"; then
  echo "creating organisation $ORG failed with HTTP $GITEA_STATUS"
  exit 1
fi
