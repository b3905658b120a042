#!/bin/sh
test -f "$ISLET_ROOT/etc/registry/config.yml"
