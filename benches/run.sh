#!/usr/bin/env bash
# Meld's benchmarks, one command, run by hand (never by the tests):
#
#   benches/run.sh [--quick]
#
# 1. `meld-bench` (benches/src/): fused vs unfused under wasmtime, in one
#    process, side by side: run time per workload shape of
#    examples/bench.wasm and per string-encoding pair, instantiation time,
#    compile time, sizes, and the core-module output (`--emit core`) beside
#    the input and the component output, before and after `wasm-opt -O`,
#    and round trips of component-model async calls between two inner
#    components.
#    Medians; see `meld-bench --help`.
# 2. Fuse time with hyperfine: `meld-host fuse` (the guest component in
#    wasmtime, warm compile cache) beside the native library
#    (`examples/fuse.rs`) and `wasm-tools validate` of the input (the floor:
#    Meld must at least parse and validate), per example; and the guest's
#    own start-up in meld-host (fusing an empty input: load, instantiate,
#    one call that returns a diagnostic).
#
# Needs hyperfine (Debian: apt-get install hyperfine), python3,
# wasm-tools (cargo install --locked wasm-tools) and npm (binaryen's wasm-opt
# is installed into tests/tools/ as tests/run.sh does). Raw hyperfine results go
# to target/bench/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
quick=""
bench_args=()
runs=20
if [ "${1:-}" = "--quick" ]; then
    quick=1
    bench_args=(--samples 3 --scale 0.2 --instances 20)
    runs=5
fi
for tool in hyperfine wasm-tools python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (see the header of $0)" >&2; exit 1; }
done

if [ ! -x tests/tools/node_modules/.bin/wasm-opt ]; then
    npm ci --prefix tests/tools --no-audit --no-fund
fi
cargo build --release --locked -q -p meld-bench -p meld-host
cargo build --release --locked -q -p meld --example fuse
target/release/meld-bench "${bench_args[@]}"

host=target/release/meld-host
native=target/release/examples/fuse
out=target/bench
mkdir -p "$out"
: >"$out/empty.wasm"
"$host" fuse examples/calc.wasm -o "$out/warmup.wasm"   # fills the compile cache

examples="calc chain resources reexport res-export bench"
for ex in $examples; do
    in="examples/$ex.wasm"
    "$native" "$in" "$out/$ex.native.wasm"
    "$host" fuse "$in" -o "$out/$ex.guest.wasm"
    cmp "$out/$ex.native.wasm" "$out/$ex.guest.wasm"   # same bytes on both hosts
    hyperfine --warmup 3 --runs "$runs" -N --style none --export-json "$out/fuse-$ex.json" \
        -n host "$host fuse $in -o $out/$ex.guest.wasm" \
        -n native "$native $in $out/$ex.native.wasm" \
        -n validate "wasm-tools validate $in" >/dev/null
done
hyperfine --warmup 3 --runs "$runs" -N -i --style none --export-json "$out/startup.json" \
    -n startup "$host fuse $out/empty.wasm -o $out/empty.out.wasm" >/dev/null 2>&1

python3 - "$out" $examples <<'PY'
import json, os, sys
out, examples = sys.argv[1], sys.argv[2:]
def medians(name):
    return {r["command"]: r["median"] * 1e3 for r in json.load(open(f"{out}/{name}.json"))["results"]}
print("## Fuse time (hyperfine, median; meld-host with a warm compile cache)\n")
print("| example | input bytes | meld-host fuse | native library | wasm-tools validate | host/native | native/validate |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for ex in examples:
    m = medians(f"fuse-{ex}")
    size = os.path.getsize(f"examples/{ex}.wasm")
    print(f"| {ex} | {size} | {m['host']:.1f} ms | {m['native']:.1f} ms | {m['validate']:.1f} ms "
          f"| {m['host']/m['native']:.2f} | {m['native']/m['validate']:.2f} |")
s = medians("startup")["startup"]
print(f"\nGuest start-up in meld-host (fuse of an empty input: load the cached guest, instantiate, one call): {s:.1f} ms")
PY
