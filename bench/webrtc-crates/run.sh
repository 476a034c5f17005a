#!/bin/sh
# Builds the three binaries (niced: the machine is shared) and measures each
# at 100 and 200 pairs, one after the other, three create+close cycles each.
# JSON lines go to stdout, with the load average before each run as a
# comment line. `python3 table.py < results.jsonl` prints the Markdown table.
set -e
cd "$(dirname "$0")"
nice -n 10 cargo build --release --features str0m,webrtc-rs,webrtc-rs-014 >&2
for n in ${PAIRS:-100 200}; do
  for b in bench-str0m bench-webrtc-rs bench-webrtc-rs-014; do
    echo "# $b $n load $(cat /proc/loadavg)"
    ./target/release/$b --pairs "$n" --cycles 3
  done
done
