#!/bin/sh
# Unpacks the release tarball beside it and gives the tree to the service user.
set -eu
dir="$ISLET_ROOT$RELEASES"
tar -xf "$dir/demoapp-$VERSION.tar" -C "$dir"
chown -R "$APP_USER:$APP_USER" "$dir/demoapp-$VERSION"
