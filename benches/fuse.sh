#!/usr/bin/env bash
# Times `meld-host fuse` (the guest component in wasmtime, warm compile cache)
# beside the native library (`cargo run -p meld --example fuse`) on each bundled
# example, side by side in one hyperfine run, and prints input/output sizes.
#
#   benches/fuse.sh [--runs N]          (needs hyperfine: apt-get install hyperfine)
#
# Raw results go to target/bench/fuse-<example>.json; a median table is printed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=20
[ "${1:-}" = "--runs" ] && runs="$2"

command -v hyperfine >/dev/null || { echo "error: hyperfine not found (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release --locked -p meld-host -p meld --example fuse
host=target/release/meld-host
native=target/release/examples/fuse
mkdir -p target/bench
"$host" fuse examples/calc.wasm -o target/bench/warmup.wasm   # fills the compile cache

for ex in calc chain; do
    in="examples/$ex.wasm"
    "$native" "$in" "target/bench/$ex.native.wasm"
    "$host" fuse "$in" -o "target/bench/$ex.guest.wasm"
    cmp "target/bench/$ex.native.wasm" "target/bench/$ex.guest.wasm"
    echo "$ex: input $(stat -c %s "$in") bytes, output $(stat -c %s "target/bench/$ex.guest.wasm") bytes"
    hyperfine --warmup 3 --runs "$runs" -N --style basic --export-json "target/bench/fuse-$ex.json" \
        -n "meld-host fuse ($ex)" "$host fuse $in -o target/bench/$ex.guest.wasm" \
        -n "native library ($ex)" "$native $in target/bench/$ex.native.wasm"
done

echo
echo "| example | input bytes | output bytes | meld-host fuse (median) | native library (median) | ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for ex in calc chain; do
    python3 - "$ex" <<'PY'
import json, sys
ex = sys.argv[1]
r = json.load(open(f"target/bench/fuse-{ex}.json"))["results"]
host, native = r[0]["median"] * 1000, r[1]["median"] * 1000
import os
i = os.path.getsize(f"examples/{ex}.wasm"); o = os.path.getsize(f"target/bench/{ex}.guest.wasm")
print(f"| {ex} | {i} | {o} | {host:.1f} ms | {native:.1f} ms | {host/native:.2f}x |")
PY
done
