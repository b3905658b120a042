#!/bin/sh
# RHEL and Rocky only: SELinux permissive (the kubelet and CNI plugins are not labelled by islet) and
# firewalld, when running, open for the ports of the node's roles. Other systems pass the check.
set -u
case "$OS" in rhel | rocky | centos | almalinux) ;; *) exit 0 ;; esac

ports="8472/udp"
case "$NODE_ROLES" in *'"control-plane"'*) ports="$ports 6443/tcp 2379-2380/tcp 10250/tcp 10257/tcp 10259/tcp" ;; esac
case "$NODE_ROLES" in *'"worker"'*) ports="$ports 10250/tcp 30000-32767/tcp" ;; esac
case "$NODE_ROLES" in *'"registry"'*) ports="$ports $REGISTRY_PORT/tcp" ;; esac

selinux_ok() {
  [ "$(getenforce 2>/dev/null || echo Disabled)" != Enforcing ] || return 1
  ! grep -q '^SELINUX=enforcing' "$ISLET_ROOT/etc/selinux/config" 2>/dev/null
}
firewall_ok() {
  systemctl is-active --quiet firewalld || return 0
  for port in $ports; do firewall-cmd --query-port="$port" > /dev/null || return 1; done
}

if [ "$1" = check ]; then
  selinux_ok && firewall_ok
  exit
fi
set -e
if [ "$(getenforce 2>/dev/null || echo Disabled)" = Enforcing ]; then setenforce 0; fi
if [ -f "$ISLET_ROOT/etc/selinux/config" ]; then
  sed -i 's/^SELINUX=enforcing/SELINUX=permissive/' "$ISLET_ROOT/etc/selinux/config"
fi
if systemctl is-active --quiet firewalld; then
  for port in $ports; do firewall-cmd --permanent --add-port="$port" > /dev/null; done
  firewall-cmd --reload > /dev/null
fi
