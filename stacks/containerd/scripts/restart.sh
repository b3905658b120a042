#!/bin/sh
# restart.sh UNIT: reloads systemd, enables the unit and (re)starts it, so the files just written take effect.
# The step runs only when its files or inputs changed or its check failed, so a restart is always wanted.
set -eu
unit=$1
systemctl daemon-reload
systemctl enable "$unit"
systemctl restart "$unit"
# Wait for the unit to stay up: a unit that dies at once (a bad configuration) fails the step here.
i=0
while [ "$i" -lt 30 ]; do
  systemctl is-active --quiet "$unit" && break
  i=$((i + 1))
  sleep 0.5
done
systemctl is-active --quiet "$unit" || { systemctl status "$unit" || true; exit 1; }
