#!/usr/bin/env python3
"""Markdown table of run.sh's JSON lines (stdin): one column per crate and N."""
import json
import sys

runs = {}
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    runs.setdefault((r["crate"], r["version"], r["pairs"]), {})[r["cycle"]] = r

cols = sorted(runs, key=lambda k: (k[2], k[0] != "str0m", k[1] != "0.21.1", k[0]))


def mib(k):
    return f"{k / 1024:.1f}"


rows = [
    ("peer connections connected", lambda c: f'{c[1]["connected"]} / {c[1]["connections"]}'),
    ("connect time p50 / p99, ms", lambda c: f'{c[1]["connect_ms_p50"]:.0f} / {c[1]["connect_ms_p99"]:.0f}'),
    ("OS threads, all connected (before)", lambda c: f'{c[1]["threads_connected"]} ({c[1]["threads_before"]})'),
    ("tokio tasks per connection (all, incl. the bench's own)", lambda c: f'{c[1]["tasks_per_connection"]:.1f}' if "tasks_per_connection" in c[1] else "none"),
    ("RSS per connection, KiB (cycle 1)", lambda c: f'{c[1]["kib_per_connection"]:.0f}'),
    ("live heap per connection, KiB", lambda c: f'{c[1]["heap_kib_per_connection"]:.0f}'),
    ("CPU, % of one core per connection (20 s)", lambda c: f'{c[1]["cpu_pct_one_core_per_connection"]:.3f}'),
    ("CPU, % of one core, whole process", lambda c: f'{c[1]["cpu_pct_one_core_total"]:.1f}'),
    ("RTP packets received /s per connection", lambda c: f'{c[1]["rx_per_s_per_connection"]:.1f}'),
    ("RSS before, MiB", lambda c: mib(c[1]["rss_before_kib"])),
    ("RSS all connected, MiB (cycle 1 / 2 / 3)", lambda c: " / ".join(mib(c[i]["rss_connected_kib"]) for i in (1, 2, 3))),
    ("RSS after close, MiB (cycle 1 / 2 / 3)", lambda c: " / ".join(mib(c[i]["rss_after_close_kib"]) for i in (1, 2, 3))),
    ("live heap after close, KiB (before: cycle 1)", lambda c: " / ".join(str(c[i]["heap_after_close_kib"]) for i in (1, 2, 3)) + f' ({c[1]["heap_before_kib"]})'),
    ("threads / tasks after close (cycle 3)", lambda c: f'{c[3]["threads_after_close"]} / ' + (str(c[3]["tasks_after_close"]) if c[3]["tasks_after_close"] >= 0 else "none")),
    ("connect p50 / p99, ms, cycles 2 and 3", lambda c: f'{c[2]["connect_ms_p50"]:.0f}/{c[2]["connect_ms_p99"]:.0f}, {c[3]["connect_ms_p50"]:.0f}/{c[3]["connect_ms_p99"]:.0f}'),
    ("load average during the run (cycle 1, cycle 3)", lambda c: c[1]["loadavg"].split()[0] + ", " + c[3]["loadavg"].split()[0]),
]

head = "| figure | " + " | ".join(f"{k[0].split(' ')[0]} {k[1]}, {k[2]} pairs" for k in cols) + " |"
print(head)
print("|---|" + "---:|" * len(cols))
for name, f in rows:
    cells = []
    for k in cols:
        try:
            cells.append(f(runs[k]))
        except (KeyError, TypeError):
            cells.append("")
    print(f"| {name} | " + " | ".join(cells) + " |")
