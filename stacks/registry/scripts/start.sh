#!/bin/sh
# check: the registry runs and answers GET /v2/ (over HTTPS with registry.tls, trusting only islet's authority).
# apply: creates the data folder, (re)starts the registry so its written configuration takes effect, and waits
# for GET /v2/ to answer: the other nodes fetch from it right after this step.
set -eu
# With TLS, the host name the certificate names (every node's /etc/hosts resolves it), trusting only islet's
# authority; without, the node's address. With auth, as its user: the password goes to curl on stdin (-K -),
# never in argv, and GET /v2/ answers 200 only to a user the registry accepts.
answers() {
  {
    if [ "$AUTH" = true ]; then printf 'user = "%s:%s"\n' "$USERNAME" "$PASSWORD"; fi
    if [ "$TLS" = true ]; then
      printf 'cacert = "%s"\nurl = "https://%s:%s/v2/"\n' "$ISLET_ROOT/etc/distribution/tls/ca.crt" "$HOST" "$PORT"
    else
      printf 'url = "http://%s:%s/v2/"\n' "$ADDRESS" "$PORT"
    fi
  } | curl -fsS -o /dev/null --max-time "$1" -K -
}

case "$1" in
  check)
    systemctl is-active --quiet islet-registry && answers 5
    ;;
  apply)
    mkdir -p "$ISLET_ROOT$DATA_DIR"
    systemctl daemon-reload
    systemctl enable islet-registry
    systemctl restart islet-registry
    i=0
    until answers 2; do
      i=$((i + 1))
      if [ "$i" -ge 60 ]; then
        echo "the registry did not answer GET /v2/ within 30 s"
        systemctl status islet-registry || true
        exit 1
      fi
      sleep 0.5
    done
    ;;
esac
# Where teams push their images (every node resolves the name through /etc/hosts).
echo "PUSH=$HOST:$PORT" >> "$ISLET_OUTPUT"
