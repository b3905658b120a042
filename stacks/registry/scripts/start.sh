#!/bin/sh
# Creates the data folder, (re)starts the registry so its written configuration takes effect, and waits for
# GET /v2/ to answer: the other nodes fetch from it right after this step.
set -eu
mkdir -p "$ISLET_ROOT$DATA_DIR"
systemctl daemon-reload
systemctl enable islet-registry
systemctl restart islet-registry
i=0
until curl -fsS -o /dev/null --max-time 2 "http://$ADDRESS:$PORT/v2/"; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "the registry did not answer on http://$ADDRESS:$PORT/v2/ within 30 s"
    systemctl status islet-registry || true
    exit 1
  fi
  sleep 0.5
done
# Where teams push their images (every node resolves the name through /etc/hosts).
echo "PUSH=$HOST:$PORT" >> "$ISLET_OUTPUT"
