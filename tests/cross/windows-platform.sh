# The Windows side of what differs by platform, under Wine: Unix-only
# checks and managers refused by validate, the "no config found" places,
# the windows_service check and manager against Wine's own services (sc.exe
# of Wine starts and stops them; Wine's services live as long as its
# wineserver, which the stand-ins of windows.sh keep running). Sourced by
# scripts/cross; called from windows_tests with its helpers.

# service_is NAME TEXT: Wine's `sc query NAME` (kept in $work/sc.txt) says TEXT.
service_is() {
  enter wine sc query "$1" >"$work/sc.txt" 2>/dev/null || true
  grep -q "$2" "$work/sc.txt"
}

platform_tests() {
  # Unix-only check types, managers and readings: refused at their keys.
  cat >"$work/unix-only.toml" <<EOF
[[service]]
name = "bot"
systemd = "bot.service"

[[check]]
name = "bot"
type = "systemd"
unit = "bot.service"
restart = "bot"

[[check]]
name = "load"
type = "cpu"
reading = "load1"

[[check]]
name = "journal"
type = "log"
journal = "bot.service"
pattern = "error"
lines = 10
EOF
  hc validate -c "$wwork/unix-only.toml"
  [ "$rc" = 3 ] || fail "validate of Unix-only checks exited $rc"
  for want in \
    'unix-only.toml:3:1: service "bot" systemd: manager `systemd` is not available on Windows (there is no systemd)' \
    'unix-only.toml:7:8: check "bot" type: check type `systemd` is not available on Windows (there is no systemd)' \
    'unix-only.toml:14:1: check "load" reading: reading `load1` of type `cpu` is not available on Windows (there is no load average)' \
    'unix-only.toml:19:1: check "journal": key `journal` is not available on Windows (there is no systemd journal)'; do
    grep -q -F "$want" "$work/stderr" || fail "validate does not say: $want; it said: $(cat "$work/stderr")"
  done
  pass "a systemd check and manager, the journal, and cpu's load readings are validation errors on Windows"

  # No config anywhere (the chroot's / is Wine's Z:\): the message names
  # the places searched on Windows.
  rm -rf "$PWD/target/cross/wineprefix/drive_c/ProgramData/healthcheck"
  hc --format json
  [ "$rc" -le 2 ] || fail "the embedded default exited $rc: $(cat "$work/stderr")"
  grep -q -F 'no config found (.\healthcheck.toml, %ProgramData%\healthcheck\healthcheck.toml)' "$work/stderr" ||
    fail "no-config message: $(cat "$work/stderr")"
  ! grep -q '/etc/' "$work/stderr" || fail "the no-config message names /etc: $(cat "$work/stderr")"
  hc --help
  grep -q -F '%ProgramData%\healthcheck\' <<<"$out" && ! grep -q '/etc/' <<<"$out" ||
    fail "--help does not name the Windows places: $out"
  pass "no config found and --help name %ProgramData%\\healthcheck\\healthcheck.toml, not /etc"

  # The windows_service check: a running service, a stopped one, a missing one.
  # A fresh Wine session with one service manager: after `wineboot -i`
  # Wine 10 runs two services.exe, which answer `sc` in turn, each with its
  # own states. A stand-in keeps the session (and its services) alive.
  stop_all
  rm -f "$work/keeper.log"
  started keeper bot "$wwork/keeper.log"
  wait_for 30 test -s "$work/keeper.log" || fail "the stand-in keeping Wine's session did not start"
  wait_for 10 pgrep -f 'system32\\services\.exe' >/dev/null || fail "Wine's service manager did not start"
  managers=$(pgrep -c -f 'system32\\services\.exe')
  [ "$managers" = 1 ] || fail "Wine runs $managers service managers, not one"
  # Which of Wine's services run depends on what ran before in its
  # session: eventlog is started, Spooler stopped, first.
  enter wine sc start eventlog >/dev/null 2>&1 || true
  wait_for 10 service_is eventlog RUNNING || fail "Wine's eventlog did not start: $(cat "$work/sc.txt")"
  enter wine sc stop Spooler >/dev/null 2>&1 || true
  wait_for 10 service_is Spooler STOPPED || fail "Wine's Spooler did not stop: $(cat "$work/sc.txt")"
  cat >"$work/svc.toml" <<EOF
[settings]
state_dir = '$wwork/state-svc'

[[check]]
name = "eventlog"
type = "windows_service"
service = "eventlog"

[[check]]
name = "spooler"
type = "windows_service"
service = "Spooler"

[[check]]
name = "missing"
type = "windows_service"
service = "NoSuchService"
EOF
  hc -c "$wwork/svc.toml" --format json
  [ "$rc" = 2 ] || fail "the windows_service checks exited $rc: $out"
  got=$(json_field '" | ".join(c["name"] + "=" + c["status"] + ": " + c["message"] for c in r["checks"])')
  # Wine's Spooler: exit code 1077 (never started) or none (stopped).
  grep -q -x -E 'eventlog=ok: eventlog is RUNNING \| spooler=critical: Spooler is STOPPED( \(exit code [0-9]+\))? \| missing=critical: NoSuchService: no such service' <<<"$got" ||
    fail "windows_service checks: $got"
  pass "windows_service: RUNNING is OK, STOPPED and not installed are CRITICAL"

  # The windows_service manager: a stopped Spooler is started, recorded
  # first, re-checked OK; a running one is stopped, then started.
  cat >"$work/svc-restart.toml" <<EOF
[settings]
state_dir = '$wwork/state-svc-restart'

[[service]]
name = "spooler"
windows_service = "Spooler"
cooldown = "1s"
grace = "1s"
verify = "10s"

[[check]]
name = "spooler"
type = "windows_service"
service = "Spooler"
restart = "spooler"
EOF
  hc -c "$wwork/svc-restart.toml" --format json
  [ "$(json_field '[a["outcome"] for a in r["actions"] if a["kind"] == "restart"]')" = "['ok']" ] ||
    fail "a stopped Spooler was not restarted: $out"
  json_field '[a["detail"] for a in r["actions"]][0]' | grep -q -F 'started Spooler (it was STOPPED); it is RUNNING' ||
    fail "restart detail: $out"
  [ "$(json_field 'r["checks"][0]["status"]')" = ok ] || fail "the re-check of Spooler is not OK: $out"
  [ "$rc" = 0 ] || fail "the run that restarted Spooler exited $rc: $out"
  service_is Spooler "4  RUNNING" || fail "sc query Spooler after the restart: $(cat "$work/sc.txt")"
  hc -c "$wwork/svc-restart.toml" history
  grep -q "spooler" <<<"$out" || fail "history does not name the service: $out"

  cat >"$work/svc-stop.toml" <<EOF
[settings]
state_dir = '$wwork/state-svc-stop'

[[service]]
name = "spooler"
windows_service = "Spooler"
verify = "10s"

[[check]]
name = "queue"
type = "command"
command = ['$wwork/cmd.exe', 'exit', '2', 'queue stuck']
restart = "spooler"
EOF
  hc -c "$wwork/svc-stop.toml" --format json
  [ "$(json_field '[a["outcome"] for a in r["actions"] if a["kind"] == "restart"]')" = "['ok']" ] &&
    json_field '[a["detail"] for a in r["actions"]][0]' |
    grep -q -F 'stopped Spooler (it was RUNNING) and started it; it is RUNNING' ||
    fail "a running Spooler was not stopped and started: $out"
  service_is Spooler "4  RUNNING" || fail "sc query Spooler after the stop and start: $(cat "$work/sc.txt")"
  pass "windows_service manager: a stopped service is started and re-checked OK, a running one stopped then started"
}
