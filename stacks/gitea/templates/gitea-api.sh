# shellcheck shell=sh
# Written by islet (stack gitea, step client): a small client of Gitea's API for the gitea and gitops steps.
# Source it, with ADDRESS and PORT set. Credentials and request bodies go through private files, never argv.

# gitea_api CREDENTIAL METHOD PATH [BODY]: CREDENTIAL is "basic USER:PASSWORD", "token TOKEN" or "none".
# Prints the response body; returns 0 for a 2xx status, 1 otherwise, with the status in GITEA_STATUS.
gitea_api() {
  __gitea_dir=$(mktemp -d) || return 1
  {
    case $1 in
      basic\ *) printf 'user = "%s"\n' "${1#basic }" ;;
      token\ *) printf 'header = "Authorization: token %s"\n' "${1#token }" ;;
    esac
    printf 'header = "Content-Type: application/json"\nheader = "Accept: application/json"\n'
    if [ -n "${4-}" ]; then printf 'data-binary = "@%s/body"\n' "$__gitea_dir"; fi
  } > "$__gitea_dir/config"
  if [ -n "${4-}" ]; then printf '%s' "$4" > "$__gitea_dir/body"; fi
  GITEA_STATUS=$(curl -sS -K "$__gitea_dir/config" -X "$2" -o "$__gitea_dir/out" -w '%{http_code}' --max-time 20 \
    "http://$ADDRESS:$PORT$3") || GITEA_STATUS=000
  cat "$__gitea_dir/out" 2> /dev/null
  rm -rf "$__gitea_dir"
  case $GITEA_STATUS in 2??) return 0 ;; *) return 1 ;; esac
}

# json_string VALUE: VALUE as a JSON string literal.
json_string() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# gitea_cli ARGS...: Gitea's CLI as its own user, with its configuration.
gitea_cli() {
  runuser -u git -- /usr/local/bin/gitea "$@" --config /etc/gitea/app.ini
}
