#!/bin/sh
# repository.sh check|apply: the application's private repository in the organisation, with the machine user
# as a collaborator that may write (Image Updater pushes the new tag there). Output: URL, the clone URL.
set -eu
. /opt/islet/lib/gitea-api.sh
admin="basic $ADMIN:$ADMIN_PASSWORD"
url="http://$ADDRESS:$PORT/$ORG/$APP.git"
if [ "$1" = check ]; then
  gitea_api "$admin" GET "/api/v1/repos/$ORG/$APP" > /dev/null &&
    gitea_api "$admin" GET "/api/v1/repos/$ORG/$APP/collaborators/$BOT" > /dev/null || exit 1
  echo "URL=$url" >> "$ISLET_OUTPUT"
  exit 0
fi
if ! gitea_api "$admin" GET "/api/v1/repos/$ORG/$APP" > /dev/null; then
  body="{\"name\": $(json_string "$APP"), \"private\": true, \"default_branch\": \"main\"}"
  gitea_api "$admin" POST "/api/v1/orgs/$ORG/repos" "$body" > /dev/null ||
    { echo "creating repository $ORG/$APP failed with HTTP $GITEA_STATUS"; exit 1; }
fi
gitea_api "$admin" PUT "/api/v1/repos/$ORG/$APP/collaborators/$BOT" '{"permission": "write"}' > /dev/null ||
  { echo "adding $BOT to $ORG/$APP failed with HTTP $GITEA_STATUS"; exit 1; }
echo "URL=$url" >> "$ISLET_OUTPUT"
