#!/bin/sh
# Clocks must agree for certificates and etcd. A closed network has its own time servers; islet does not
# choose them, it makes sure the system's time sync service runs. check: one of them is active; apply: start
# the first one installed, or fail naming what to install.
services="chrony chronyd systemd-timesyncd ntpsec ntp ntpd"
for service in $services; do
  if systemctl is-active --quiet "$service"; then exit 0; fi
done
[ "$1" = check ] && exit 1
for service in $services; do
  for folder in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system; do
    if [ -f "$ISLET_ROOT$folder/$service.service" ]; then
      systemctl enable --now "$service"
      exit 0
    fi
  done
done
echo "no time sync service is installed (looked for: $services); install chrony and point it at your internal time server"
exit 1
