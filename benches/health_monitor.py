#!/usr/bin/env python3
"""The same eight checks as a Python script with psutil, the way operators
write their health_monitor.py: straightforward, one check after the other,
a JSON file for what the next run needs.
Usage: health_monitor.py DIR LOG"""
import json
import os
import sqlite3
import sys
import time
from collections import deque

import psutil

dir, log = sys.argv[1], sys.argv[2]
state_path = os.path.join(dir, "py-state.json")
try:
    with open(state_path) as f:
        state = json.load(f)
except (OSError, ValueError):
    state = {}
problems = []

if time.time() - os.path.getmtime(os.path.join(dir, "heartbeat")) > 300:
    problems.append("heartbeat is stale")

with open(log, errors="replace") as f:
    last = deque(f, maxlen=100)
if not any(w in line for line in last for w in ("VIX", "Position", "Update")):
    problems.append("no activity in the last 100 lines")

size = os.path.getsize(log)
offset = state.get("offset", size)
if offset > size:
    offset = 0
with open(log, "rb") as f:
    f.seek(offset)
    errors = sum(1 for line in f if b"ERROR" in line)
    state["offset"] = f.tell()
if errors > 200:
    problems.append(f"{errors} errors since the last run")

bots = [p for p in psutil.process_iter(["cmdline"]) if "bench-bot" in " ".join(p.info["cmdline"] or [])]
if not bots:
    problems.append("bot is not running")

if psutil.disk_usage("/").percent > 90:
    problems.append("disk almost full")
if psutil.virtual_memory().percent > 90:
    problems.append("memory almost full")
if psutil.cpu_percent(interval=None) > 95 or os.getloadavg()[0] / psutil.cpu_count() > 4:
    problems.append("cpu busy")

db = sqlite3.connect(os.path.join(dir, "ticks.db"))
(newest,) = db.execute("SELECT max(ts) FROM ticks").fetchone()
if time.time() - newest > 900:
    problems.append("no new ticks")

with open(state_path, "w") as f:
    json.dump(state, f)
print("; ".join(problems) or "OK")
sys.exit(2 if problems else 0)
