#!/bin/sh
# Passes when the registry's configuration is in place.
test -f "$ISLET_ROOT/etc/registry/config.yml"
