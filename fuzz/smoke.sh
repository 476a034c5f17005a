#!/usr/bin/env bash
# A short run of every fuzz target, for CI (tools/test calls this): builds the
# targets with coverage instrumentation on the stable toolchain (no cargo-fuzz,
# no nightly, no sanitizer: the flags below are the ones `cargo fuzz build`
# passes, minus -Zsanitizer), then runs each target's libFuzzer binary on its
# seed corpus and its regression inputs for a share of FUZZ_SMOKE_SECONDS
# (default 60). Any crash, panic, timeout or out-of-memory fails the run and
# leaves the input in fuzz/target/smoke-artifacts/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
total=${FUZZ_SMOKE_SECONDS:-60}
targets=(sip_parse sip_framer ua_input sdp rtp spec_json audio_decode webrtc_sdp)
per=$((total / ${#targets[@]}))
((per > 0)) || per=1

export CARGO_TARGET_DIR=$PWD/target/smoke
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# With an explicit --target, RUSTFLAGS reach the fuzz targets and their
# dependencies but not build scripts (which cannot link the coverage hooks).
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --bins --target "$host"
bin=$CARGO_TARGET_DIR/$host/release

python3 seeds.py >/dev/null
artifacts=$PWD/target/smoke-artifacts
rm -rf "$artifacts" && mkdir -p "$artifacts"
failed=()
for t in "${targets[@]}"; do
  scratch=$(mktemp -d)
  dirs=("$scratch" "seeds/$t")
  [[ -d regressions/$t ]] && dirs+=("regressions/$t")
  echo "fuzz smoke: $t for ${per}s"
  if ! "$bin/$t" -max_total_time="$per" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "${dirs[@]}" \
      >"$artifacts/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 40 "$artifacts/$t.log"
  else
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units)' "$artifacts/$t.log" | tr '\n' ' '
    echo
  fi
  rm -rf "$scratch"
done
if ((${#failed[@]})); then
  echo "fuzz smoke: crashes in ${failed[*]} (inputs in $artifacts)"
  exit 1
fi
echo "fuzz smoke: ${#targets[@]} targets, no crash"
