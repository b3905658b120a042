#!/bin/sh
# (Re)starts Gitea with the app.ini just written and waits until its API answers.
set -eu
for folder in data repositories log; do
  mkdir -p "$ISLET_ROOT$DATA_DIR/$folder"
  chown git:git "$ISLET_ROOT$DATA_DIR/$folder"
done
systemctl daemon-reload
systemctl enable gitea
systemctl restart gitea
i=0
until curl -fsS -o /dev/null --max-time 2 "http://$ADDRESS:$PORT/api/v1/version"; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "Gitea did not answer on http://$ADDRESS:$PORT/ within 30 s"
    systemctl status gitea || true
    exit 1
  fi
  sleep 0.5
done
