#!/usr/bin/env bash
# The same eight checks as a cron script of Monitoring Plugins, the way an
# operator writes one: each plugin in turn, the worst exit code wins.
# Usage: check_plugins.sh DIR LOG   (DIR holds the fixtures and the old-log copy)
dir=$1
log=$2
p=/usr/lib/nagios/plugins
worst=0
run() {
  "$@" > /dev/null
  local rc=$?
  [ "$rc" -gt "$worst" ] && worst=$rc
}
run $p/check_file_age -w 300 -c 600 -f "$dir/heartbeat"
# Activity: the last 100 lines hold an update.
n=$(tail -n 100 "$log" | grep -cE 'VIX|Position|Update')
[ "$n" -ge 1 ] || worst=2
# Errors since the last run (check_log keeps a copy of the log to diff against).
run $p/check_log -F "$log" -O "$dir/plugins-oldlog" -q ERROR
run $p/check_procs -c 1: --ereg-argument-array=bench-bot
run $p/check_disk -w 10% -c 5% -p /
run $p/check_swap -w 50% -c 20%
run $p/check_load -r -w 4,3,2 -c 8,6,4
newest=$(sqlite3 "$dir/ticks.db" 'SELECT max(ts) FROM ticks')
[ $(( $(date +%s) - newest )) -le 900 ] || worst=2
exit "$worst"
