# The Windows tests: healthcheck.exe under Wine, against real things in the
# Wine prefix (the stand-in bot, its CRLF log, a loopback HTTP server).
# Sourced by scripts/cross after the build; `enter` runs a command in the
# chroot, where Wine is. Each test prints "ok NAME" or fails the script.

# shellcheck source=tests/cross/windows-platform.sh
. tests/cross/windows-platform.sh

exe='Z:/src/target/cross/build/x86_64-pc-windows-gnu/release/healthcheck.exe'
standin_exe="$PWD/target/cross/build/x86_64-pc-windows-gnu/release/standin.exe"
work="$PWD/target/cross/wine-work" # the same folder is Z:/src/target/cross/wine-work in Wine
wwork='Z:/src/target/cross/wine-work'

fail() {
  echo "FAILED: $*" >&2
  exit 1
}
pass() { echo "ok $*"; }

# hc ARGS... : run healthcheck.exe; its stdout in $out, its exit code in $rc.
# Through a file, not $(...): under Wine a process that healthcheck started
# detached (a restarted bot) inherits the Linux end of the pipe, and $(...)
# would wait for it to exit.
hc() {
  set +e
  enter wine "$exe" "$@" >"$work/stdout" 2>"$work/stderr"
  rc=$?
  set -e
  out=$(cat "$work/stdout")
}

# Wine's processes are Linux processes too: a pattern on their command lines.
running() { pgrep -f "$1" >/dev/null; }

# started NAME ARGS... : a copy of the stand-in named NAME.exe, run in the
# background under Wine; stopped by stop_all.
started() {
  local name=$1
  shift
  cp "$standin_exe" "$work/$name.exe"
  enter wine "$wwork/$name.exe" "$@" >/dev/null 2>&1 &
}

stop_all() { enter wineserver -k 2>/dev/null || true; }

wait_for() { # seconds command... : until the command succeeds
  local until=$((SECONDS + $1))
  shift
  until "$@"; do
    [ $SECONDS -lt $until ] || return 1
    sleep 0.2
  done
}

json_field() { # python expression on the JSON report in $out, as `r`
  python3 -c "import json,sys; r=json.load(sys.stdin); print($1)" <<<"$out"
}

windows_tests() {
  rm -rf "$work"
  mkdir -p "$work"
  trap 'stop_all; unmount_all' EXIT
  enter wineboot -i >/dev/null 2>&1 || true

  # The Task Scheduler file: UTF-16 LE with a BOM, well-formed.
  [ "$(head -c 2 examples/windows-task.xml | od -An -tx1 | tr -d ' ')" = fffe ] || fail "windows-task.xml has no UTF-16 LE BOM"
  xmllint --noout examples/windows-task.xml || fail "xmllint rejects windows-task.xml"
  pass "windows-task.xml is UTF-16 LE with a BOM and well-formed"

  # validate on every example, with placeholders for its ${VARIABLES}
  # (as tests/it/cli.rs does).
  for f in examples/*.toml presets/*.toml; do
    vars=()
    for name in $(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$f" | tr -d '${}' | sort -u); do
      case $name in
      *URL*) vars+=("$name=https://alerts.invalid/placeholder") ;;
      *) vars+=("$name=placeholder@alerts.invalid") ;;
      esac
    done
    set +e
    out=$(enter env "${vars[@]}" wine "$exe" validate -c "Z:/src/$f" 2>"$work/stderr")
    rc=$?
    set -e
    # This build leaves SQL Server out (see the README): the examples that
    # use it must say so, and nothing else.
    # Nor can those that use systemd or cpu's load average (Unix only).
    if [ "$rc" != 0 ] && ! grep -v -E 'without SQL Server support|is not available on Windows|: [0-9]+ errors?$|error\(s\)$' "$work/stderr" | grep -q .; then
      rc=0
    fi
    [ "$rc" = 0 ] || fail "validate $f exited $rc: $(cat "$work/stderr")"
  done
  pass "validate on every example and preset"
  hc init "$wwork/init.toml"
  [ "$rc" = 0 ] || fail "init exited $rc: $(cat "$work/stderr")"
  hc validate -c "$wwork/init.toml"
  [ "$rc" = 0 ] || fail "the config init writes on Windows is invalid: $(cat "$work/stderr")"
  pass "init writes a config that is valid on Windows"

  # The three outputs and the exit codes 0-3.
  printf 'x' >"$work/fresh"
  printf 'x' >"$work/old"
  touch -d '1 hour ago' "$work/old"
  cat >"$work/codes.toml" <<EOF
[settings]
state_dir = '$wwork/state-codes'

[[check]]
name = "fresh"
type = "file"
path = '$wwork/fresh'
crit_above = "10m"
EOF
  hc -c "$wwork/codes.toml"
  [ "$rc" = 0 ] && grep -q "fresh" <<<"$out" || fail "OK run exited $rc: $out"
  hc -c "$wwork/codes.toml" --format json
  [ "$rc" = 0 ] && [ "$(json_field 'r["status"]')" = ok ] || fail "JSON: $out"
  hc -c "$wwork/codes.toml" --format nagios
  [ "$rc" = 0 ] && grep -q "^HEALTHCHECK OK" <<<"$out" || fail "Nagios: $out"
  sed -i "s|'$wwork/fresh'|'$wwork/old'|; s|crit_above = \"10m\"|warn_above = \"10m\"|" "$work/codes.toml"
  hc -c "$wwork/codes.toml" --format nagios
  [ "$rc" = 1 ] && grep -q "^HEALTHCHECK WARNING" <<<"$out" || fail "WARNING exited $rc: $out"
  sed -i "s|'$wwork/old'|'$wwork/missing'|" "$work/codes.toml"
  hc -c "$wwork/codes.toml" --format nagios
  [ "$rc" = 2 ] && grep -q "^HEALTHCHECK CRITICAL" <<<"$out" || fail "CRITICAL exited $rc: $out"
  printf '[[check]]\nname = "x"\ntype = "nonesuch"\n' >"$work/bad.toml"
  hc -c "$wwork/bad.toml"
  [ "$rc" = 3 ] || fail "an invalid config exited $rc"
  pass "text, JSON and Nagios outputs; exit codes 0, 1, 2, 3"

  # A run with file, log, process, disk, memory, command, http and tcp checks.
  started bot bot "$wwork/bot.log"
  started web http "$wwork/port"
  wait_for 30 test -s "$work/port" || fail "the HTTP stand-in did not start"
  wait_for 30 sh -c "[ -f '$work/bot.log' ] && [ \$(wc -l <'$work/bot.log') -ge 6 ]" || fail "the bot stand-in did not start"
  port=$(cat "$work/port")
  cp "$standin_exe" "$work/cmd.exe"
  cat >"$work/all.toml" <<EOF
[settings]
state_dir = '$wwork/state-all'

[[check]]
name = "log-fresh"
type = "file"
path = '$wwork/bot.log'
crit_above = "1m"

[[check]]
name = "log-ticks"
type = "log"
path = '$wwork/bot.log'
pattern = '^tick \\d+$'
lines = 5
crit_below = 5

# Under Wine, sysinfo sees other processes' image names but not their
# arguments (Wine does not answer ProcessCommandLineInformation for another
# process): the stand-ins go by unique image names.
[[check]]
name = "bot"
type = "process"
match = '^bot\\.exe'

[[check]]
name = "disk"
type = "disk"
path = 'C:\\'
crit_above = 100

[[check]]
name = "memory"
type = "memory"
crit_above = 100

[[check]]
name = "cpu"
type = "cpu"

[[check]]
name = "command"
type = "command"
command = ['$wwork/cmd.exe', 'exit', '0', 'fine']

[[check]]
name = "http"
type = "http"
url = "http://127.0.0.1:$port/"
body = "^ok$"

[[check]]
name = "tcp"
type = "tcp"
address = "127.0.0.1:$port"
EOF
  hc -c "$wwork/all.toml" --format json
  statuses=$(json_field '" ".join(c["name"] + "=" + c["status"] for c in r["checks"])')
  [ "$rc" = 0 ] || fail "the run of every check type exited $rc: $statuses $out"
  for name in log-fresh log-ticks bot disk memory cpu command http tcp; do
    grep -q "$name=ok" <<<"$statuses" || fail "$name is not OK: $statuses"
  done
  pass "file, log (CRLF), process, disk, memory, cpu, command, http, tcp against the stand-ins"

  # A hung command with a child is killed at its timeout, with its tree.
  cp "$standin_exe" "$work/hangtree.exe"
  cat >"$work/hang.toml" <<EOF
[settings]
state_dir = '$wwork/state-hang'

[[check]]
name = "hung"
type = "command"
command = ['$wwork/hangtree.exe', 'hang', '$wwork/hang.pid']
timeout = "3s"
EOF
  hc -c "$wwork/hang.toml" --format json
  [ -s "$work/hang.pid" ] || fail "the hung command did not start its child"
  grep -q "timed out" <<<"$out" || fail "the hung command did not time out: $out"
  wait_for 10 sh -c '! pgrep -f "[h]angtree.exe" >/dev/null' || fail "a process of the hung tree is left: $(pgrep -af '[h]angtree.exe')"
  pass "a hung command and its child are killed at the timeout"

  # A dead bot is restarted, recorded first, re-checked OK; the budget
  # suspends after max_restarts.
  cp "$standin_exe" "$work/phoenix.exe"
  cat >"$work/restart.toml" <<EOF
[settings]
state_dir = '$wwork/state-restart'

[[service]]
name = "phoenix"
process = { match = '^phoenix\\.exe', start = ['./phoenix.exe', 'bot', 'phoenix.log', 'state-restart/state.json', 'state-at-start.json'], cwd = '$wwork' }
max_restarts = 2
window = "1h"
cooldown = "1s"
grace = "1s"
verify = "2s"

[[check]]
name = "phoenix"
type = "process"
match = '^phoenix\\.exe'
restart = "phoenix"
EOF
  for round in 1 2 3; do
    rm -f "$work/state-at-start.json"
    pkill -9 -f '[p]hoenix\.exe' || true
    wait_for 10 sh -c '! pgrep -f "[p]hoenix\.exe" >/dev/null' || fail "the bot did not die"
    sleep 1.2
    hc -c "$wwork/restart.toml" --format json
    outcome=$(json_field '",".join(a["outcome"] for a in r["actions"] if a["kind"] == "restart")')
    if [ "$round" -lt 3 ]; then
      [ "$outcome" = ok ] || fail "round $round: no restart: $out"
      [ "$(json_field 'r["checks"][0]["status"]')" = ok ] || fail "round $round: the re-check is not OK: $out"
      running '[p]hoenix\.exe' || fail "round $round: the bot does not run after the restart"
      # The state the bot found as it started already held this restart.
      recorded=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["services"]["phoenix"]["restarts"]))' "$work/state-at-start.json") ||
        fail "round $round: the bot could not copy the state as it started"
      [ "$recorded" = "$round" ] || fail "round $round: the state held $recorded restarts as the bot started, not $round"
    else
      [ "$outcome" = suspended ] || fail "round 3: not suspended after 2 restarts: $out"
      ! running '[p]hoenix\.exe' || fail "round 3: started past the budget"
    fi
  done
  hc -c "$wwork/restart.toml" history
  grep -q "phoenix" <<<"$out" || fail "history does not name the service: $out"
  pass "a dead bot is restarted, recorded before it starts, and re-checked OK; the budget suspends after max_restarts"

  # State survives runs killed with taskkill /F; the lock stops a second run.
  cat >"$work/lock.toml" <<EOF
[settings]
state_dir = '$wwork/state-lock'
deadline = "20s"

[[check]]
name = "slow"
type = "command"
command = ['$wwork/cmd.exe', 'sleep']
timeout = "15s"

[[check]]
name = "fresh"
type = "file"
path = '$wwork/fresh'
EOF
  hc -c "$wwork/codes.toml"
  for delay in 0.3 0.8 1.5 2.5; do
    enter wine "$exe" -c "$wwork/codes.toml" >/dev/null 2>&1 &
    killed=$!
    sleep "$delay"
    enter wine taskkill /F /IM healthcheck.exe >/dev/null 2>&1 || true
    wait "$killed" || true
  done
  hc -c "$wwork/codes.toml" --format json
  ls "$work/state-codes" | grep -q -i "corrupt\|quarantine" && fail "a killed run left a corrupt state: $(ls "$work/state-codes")"
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/state-codes/state.json" || fail "state.json is not JSON"
  enter wine "$exe" -c "$wwork/lock.toml" >/dev/null 2>&1 &
  first=$!
  sleep 3
  sed -i 's/deadline = "20s"/deadline = "2s"/; s/timeout = "15s"/timeout = "1s"/' "$work/lock.toml"
  hc -c "$wwork/lock.toml"
  [ "$rc" = 3 ] && grep -q "in progress" "$work/stderr" "$work/stdout" || fail "a second run was not stopped by the lock (exit $rc): $out $(cat "$work/stderr")"
  wait "$first" || true
  pass "state survives taskkill /F; the lock stops a second run"

  # The SolTrader bot on Windows, end to end: its stand-in in its folder.
  # `~` is the Wine user's profile (Wine sets USERPROFILE itself).
  home="$PWD/target/cross/wineprefix/drive_c/users/root"
  rm -rf "$home/soltrader"
  mkdir -p "$home/soltrader/venv/Scripts" "$home/soltrader/logs" "$home/soltrader/logs"
  cp "$standin_exe" "$home/soltrader/venv/Scripts/python.exe"
  # The image name, not "python.*main.py": Wine hides the arguments (above).
  sed -e "s|^\[settings\]|[settings]\nstate_dir = '$wwork/state-soltrader'|" \
    -e 's|match = "python.\*main.py"|match = "^python\\\\.exe"|' \
    examples/soltrader-windows.toml >"$work/soltrader.toml"
  for round in 1 2; do
    set +e
    enter env SMTP_USERNAME=bot@example.com SMTP_PASSWORD=x ALERT_EMAIL=me@example.com \
      wine "$exe" -c "$wwork/soltrader.toml" --no-alert --format json >"$work/stdout" 2>"$work/stderr"
    rc=$?
    set -e
    out=$(cat "$work/stdout")
    if [ "$round" = 1 ]; then
      wait_for 20 test -s "$home/soltrader/bot_data.json" || fail "soltrader: the bot was not started: $out"
    fi
  done
  statuses=$(json_field '" ".join(c["name"] + "=" + c["status"] for c in r["checks"])')
  for name in bot-process log-activity token-discovery approval-rate api-error-rate dashboard-fresh; do
    grep -q "$name=ok" <<<"$statuses" || fail "soltrader: $name is not OK after the restart: $statuses"
  done
  pass "soltrader on Windows: the bot is started, then every check of the bot is OK"
  zip_tests
  platform_tests
  stop_all
}

# The zip scripts/package made, as a user unpacks it: its healthcheck.exe
# validates the shipped healthcheck.toml and runs it. (install.ps1 needs
# PowerShell, which Wine does not have: it is not run here.)
zip_tests() {
  local zip
  zip="target/packages/healthcheck-$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)-windows-x86_64.zip"
  if [ ! -f "$zip" ]; then
    [ "${CI:-}" = true ] && fail "no $zip: scripts/package makes it"
    echo "SKIPPED: $zip missing: run scripts/package"
    return
  fi
  rm -rf "$work/zip"
  python3 -m zipfile -e "$zip" "$work/zip"
  local zexe="$wwork/zip/healthcheck.exe" zconfig="$wwork/zip/healthcheck.toml"
  set +e
  enter wine "$zexe" validate -c "$zconfig" >"$work/stdout" 2>"$work/stderr"
  rc=$?
  set -e
  [ "$rc" = 0 ] || fail "the zip's healthcheck.exe does not validate its healthcheck.toml (exit $rc): $(cat "$work/stderr")"
  sed "s|^\[settings\]|[settings]\nstate_dir = '$wwork/state-zip'|" "$work/zip/healthcheck.toml" >"$work/zip/run.toml"
  set +e
  enter wine "$zexe" -c "$wwork/zip/run.toml" --format json >"$work/stdout" 2>"$work/stderr"
  rc=$?
  set -e
  out=$(cat "$work/stdout")
  case "$rc" in 0 | 1 | 2) ;; *) fail "the zip's preset run exited $rc: $out $(cat "$work/stderr")" ;; esac
  [ "$(json_field '" ".join(c["name"] for c in r["checks"])')" = "disk memory cpu" ] || fail "the zip's preset ran: $out"
  [ -s "$work/state-zip/state.json" ] || fail "the zip's preset run left no state"
  pass "the Windows zip: healthcheck.exe validates and runs the shipped healthcheck.toml"
}
