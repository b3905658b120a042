#!/bin/sh
# machine-token.sh check|apply: the machine user's access token. Gitea shows a token once, so islet keeps it
# root-only on the git node: check proves it still authenticates as the machine user and reports it (so an
# adopted token is recorded); apply replaces the token by name (Gitea refuses a name in use).
set -eu
. /opt/islet/lib/gitea-api.sh
file="$ISLET_ROOT/etc/gitea/islet/machine-token"
name=islet-gitops
# The kept token, when it still authenticates as the machine user.
working_token() {
  [ -s "$file" ] || return 1
  token=$(cat "$file")
  gitea_api "token $token" GET /api/v1/user | grep -Eq "\"login\": *$(json_string "$BOT")"
}
if [ "$1" = check ]; then
  working_token || exit 1
  echo "TOKEN=$token" >> "$ISLET_OUTPUT"
  exit 0
fi
# Gitea was down when planned, or the step is new: a token that works again is kept, so nothing using it changes.
if working_token; then
  echo "TOKEN=$token" >> "$ISLET_OUTPUT"
  exit 0
fi
gitea_api "basic $BOT:$BOT_PASSWORD" DELETE "/api/v1/users/$BOT/tokens/$name" > /dev/null || true
body="{\"name\": \"$name\", \"scopes\": [\"write:repository\", \"read:user\"]}"
if ! response=$(gitea_api "basic $BOT:$BOT_PASSWORD" POST "/api/v1/users/$BOT/tokens" "$body"); then
  echo "creating the access token failed with HTTP $GITEA_STATUS"
  exit 1
fi
token=$(printf '%s' "$response" | sed -n 's/.*"sha1": *"\([0-9a-f]*\)".*/\1/p')
[ -n "$token" ] || { echo "Gitea's answer held no token"; exit 1; }
umask 077
mkdir -p "$(dirname "$file")"
printf '%s\n' "$token" > "$file.islet-new"
mv -f "$file.islet-new" "$file"
echo "TOKEN=$token" >> "$ISLET_OUTPUT"
