#!/bin/sh
# islet has put the rendered configuration in place; report the registry's endpoint.
set -eu
test -f "$ISLET_ROOT/etc/registry/config.yml"
echo "REGISTRY_ENDPOINT=$NODE_ADDRESS:$REGISTRY_PORT" >> "$ISLET_OUTPUT"
