#!/bin/sh
# Passes when $DIR is a directory with mode $MODE (as stat %a prints it) and owner $OWNER (user:group).
[ "$(stat -c '%F %a %U:%G' "$ISLET_ROOT$DIR" 2>/dev/null)" = "directory $MODE $OWNER" ]
