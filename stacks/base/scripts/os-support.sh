#!/bin/sh
# Passes on the systems the stacks were written for; otherwise fails with the reason, as check and apply alike:
# nothing islet could do makes another system fit.
case "$OS $OS_VERSION" in
  "ubuntu 22.04" | "ubuntu 24.04" | "debian 12" | "debian 12."* | "rocky 9" | "rocky 9."* | "rhel 9" | "rhel 9."*) ;;
  *)
    echo "unsupported operating system '$OS $OS_VERSION'; expected Ubuntu 22.04 or 24.04, Debian 12, Rocky Linux 9 or RHEL 9"
    exit 1
    ;;
esac
case "$MACHINE" in
  x86_64 | aarch64) ;;
  *)
    echo "unsupported architecture '$MACHINE'; expected x86_64 (amd64) or aarch64 (arm64)"
    exit 1
    ;;
esac
