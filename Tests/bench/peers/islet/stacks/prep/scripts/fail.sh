#!/bin/sh
# The apply of a read-only check: it changes nothing, it says why the check failed.
echo "check failed on $ISLET_NODE: $ISLET_STEP" >&2
exit 1
