#!/bin/sh
# Passes when the system user exists with the wanted primary group, home and shell.
entry=$(getent passwd "$APP_USER") || exit 1
[ "$(echo "$entry" | cut -d: -f6,7)" = "$HOME_DIR:$LOGIN_SHELL" ] && [ "$(id -gn "$APP_USER")" = "$APP_USER" ]
