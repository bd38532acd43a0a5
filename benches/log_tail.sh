#!/usr/bin/env bash
# Benchmark: the `log` check with `lines = 100` costs the same on a 1 GiB log
# as on a 1 MiB log, because it reads the tail backwards from the end.
# Usage: benches/log_tail.sh   (needs hyperfine; installs it with apt-get if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release --quiet
bin=target/release/healthcheck
work=target/bench/log_tail
mkdir -p "$work"

make_log() { # path size_in_MiB
  [ -f "$1" ] && [ "$(stat -c %s "$1")" -ge $(( $2 * 1024 * 1024 )) ] && return
  python3 - "$1" "$2" <<'PY'
import sys
path, mib = sys.argv[1], int(sys.argv[2])
line = b"2026-11-22 05:00:00 INFO Update VIX 17.25 Position AAPL qty=100 pnl=+12.50 ok\n"
block = line * (1024 * 1024 // len(line) + 1)
block = block[: 1024 * 1024]
with open(path, "wb") as f:
    for _ in range(mib):
        f.write(block)
    f.write(line)
PY
}
make_log "$work/small.log" 1
make_log "$work/big.log" 1024

for size in small big; do
  cat > "$work/$size.toml" <<TOML
[settings]
state_dir = "$work/state-$size"
reports = 0
[[check]]
name = "activity"
type = "log"
path = "$work/$size.log"
pattern = "VIX|Position|Update"
lines = 100
crit_below = 1
TOML
done

# Drop the page cache effect from the comparison: both files are read once first.
cat "$work/small.log" > /dev/null
hyperfine --warmup 5 --runs 50 -N \
  --export-markdown "$work/result.md" \
  "$bin -c $work/small.toml --dry-run" \
  "$bin -c $work/big.toml --dry-run"
for size in small big; do
  /usr/bin/time -v "$bin" -c "$work/$size.toml" --dry-run 2>&1 >/dev/null | grep -E "Maximum resident|File system inputs" | sed "s/^/$size: /"
done
