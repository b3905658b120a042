#!/bin/sh
# Creates the system user (no home created: a later step makes the folder), or fixes its group, home and shell.
set -eu
if getent passwd "$APP_USER" > /dev/null; then
  usermod -g "$APP_USER" -d "$HOME_DIR" -s "$LOGIN_SHELL" "$APP_USER"
else
  useradd -r -g "$APP_USER" -d "$HOME_DIR" -s "$LOGIN_SHELL" -M "$APP_USER"
fi
