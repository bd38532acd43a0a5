#!/usr/bin/env bash
# The restart case's bot: up (its heartbeat written) half a second after it
# starts, then it idles. Its argv holds its name, so `match` finds it.
# Usage: bot.sh NAME HEARTBEAT PIDFILE
echo $$ > "$3"
sleep 0.5
touch "$2"
exec -a "$1" sleep 100000
