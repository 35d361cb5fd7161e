#!/usr/bin/env bash
# Resource-heavy loop, unfused vs fused, side by side in one hyperfine run:
# benches/resource-loop.wasm makes 1,000,000 rounds of construct, three
# method calls through a borrow and an own passed back (see
# benches/resource-loop/app.wat). Both forms run under `meld-host run`
# (wasmtime, same engine), so process start and compilation are included in
# both. Prints the medians and their ratio. Needs hyperfine (Debian:
# apt-get install hyperfine) and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v hyperfine >/dev/null || { echo "error: hyperfine not found (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release --locked -q -p meld-host -p meld --example fuse
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
in=benches/resource-loop.wasm
out="$work/resource-loop.fused.wasm"
target/release/examples/fuse "$in" "$out"
printf '%-28s %8d bytes\n' "input" "$(wc -c <"$in")" "fused" "$(wc -c <"$out")"
hyperfine --warmup 2 --runs "${RUNS:-15}" -N --export-json "$work/times.json" \
    -n unfused "target/release/meld-host run $in" \
    -n fused "target/release/meld-host run $out"
python3 - "$work/times.json" <<'PY'
import json, sys
m = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
print(f"median: unfused {m['unfused']*1e3:.1f} ms, fused {m['fused']*1e3:.1f} ms, "
      f"fused/unfused {m['fused']/m['unfused']:.2f}")
PY
