#!/usr/bin/env bash
# Rebuilds the example compositions used as Meld's test inputs:
#   examples/calc.wasm   calc-app  <- calc-lib
#   examples/chain.wasm  chain-app <- chain-middle <- chain-leaf
#   examples/resources.wasm  res-app <- res-lib (resources both ways)
#   examples/reexport.wasm   res-runner <- res-mid <- res-leaf (wit/reexport/compose.wac)
#   examples/res-export.wasm res-mid <- res-leaf (not a command: exports
#                            meld:reexport/wrapped and counters to the host)
#   examples/bench.wasm      bench-app <- bench-lib (not a command: exports
#                            run(workload, rounds); the benchmarks' workload)
#   examples/async-calls.wasm  async-runner <- async-lib (component-model
#                            async: exports meld:async-demo/scenarios, imports
#                            the async host function meld:async-demo/clock)
#   examples/async-chain.wasm  async-front <- async-middle <- async-leaf
#                            (async->sync->async; exports meld:async-demo/chain)
# Runnable from any directory. Needs the wasm32-wasip2 Rust target, wasm-tools and wac.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

missing=0
for tool in wasm-tools wac; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        if [ -x "$HOME/.cargo/bin/$tool" ]; then
            export PATH="$HOME/.cargo/bin:$PATH"
        else
            echo "error: '$tool' not found on PATH" >&2
            missing=1
        fi
    fi
done
if [ "$missing" -ne 0 ]; then
    echo "install them with: cargo install --locked wasm-tools wac-cli" >&2
    exit 1
fi
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "error: Rust target wasm32-wasip2 is not installed" >&2
    echo "install it with: rustup target add wasm32-wasip2" >&2
    exit 1
fi

jobs="${JOBS:-2}"
echo "== building guests (release, wasm32-wasip2, -j$jobs)"
cargo build --release --target wasm32-wasip2 -j"$jobs" \
    -p calc-lib -p calc-app -p chain-leaf -p chain-middle -p chain-app \
    -p res-lib -p res-app -p res-leaf -p res-mid -p res-runner -p bench-lib -p bench-app
# A build of its own: cargo unifies features across the packages of one
# build, and wit-bindgen's `async` feature would change the sync guests' bytes.
cargo build --release --target wasm32-wasip2 -j"$jobs" \
    -p async-lib -p async-runner -p async-leaf -p async-middle -p async-front

rel="target/wasm32-wasip2/release"
work="target/compose"
mkdir -p "$work"

echo "== stripping"
# cdylib outputs use underscores, bin outputs keep the package name.
wasm-tools strip "$rel/calc_lib.wasm"     -o "$work/calc_lib.wasm"
wasm-tools strip "$rel/calc-app.wasm"     -o "$work/calc_app.wasm"
wasm-tools strip "$rel/chain_leaf.wasm"   -o "$work/chain_leaf.wasm"
wasm-tools strip "$rel/chain_middle.wasm" -o "$work/chain_middle.wasm"
wasm-tools strip "$rel/chain-app.wasm"    -o "$work/chain_app.wasm"
wasm-tools strip "$rel/res_lib.wasm"      -o "$work/res_lib.wasm"
wasm-tools strip "$rel/res-app.wasm"      -o "$work/res_app.wasm"
wasm-tools strip "$rel/res_leaf.wasm"     -o "$work/res_leaf.wasm"
wasm-tools strip "$rel/res_mid.wasm"      -o "$work/res_mid.wasm"
wasm-tools strip "$rel/res-runner.wasm"   -o "$work/res_runner.wasm"
wasm-tools strip "$rel/bench_lib.wasm"    -o "$work/bench_lib.wasm"
wasm-tools strip "$rel/bench_app.wasm"    -o "$work/bench_app.wasm"
for g in async_lib async_runner async_leaf async_middle async_front; do
    wasm-tools strip "$rel/$g.wasm" -o "$work/$g.wasm"
done
for f in "$work"/*.wasm; do wasm-tools validate "$f"; done

echo "== composing"
wac plug "$work/calc_app.wasm" --plug "$work/calc_lib.wasm" -o "$work/calc.wasm"
wac plug "$work/chain_middle.wasm" --plug "$work/chain_leaf.wasm" -o "$work/chain_middle_leaf.wasm"
wac plug "$work/chain_app.wasm" --plug "$work/chain_middle_leaf.wasm" -o "$work/chain.wasm"
wac plug "$work/res_app.wasm" --plug "$work/res_lib.wasm" -o "$work/resources.wasm"
wac compose wit/reexport/compose.wac \
    --dep meld:leaf="$work/res_leaf.wasm" \
    --dep meld:mid="$work/res_mid.wasm" \
    --dep meld:runner="$work/res_runner.wasm" \
    -o "$work/reexport.wasm"
wac plug "$work/res_mid.wasm" --plug "$work/res_leaf.wasm" -o "$work/res-export.wasm"
wac plug "$work/bench_app.wasm" --plug "$work/bench_lib.wasm" -o "$work/bench.wasm"
wac plug "$work/async_runner.wasm" --plug "$work/async_lib.wasm" -o "$work/async-calls.wasm"
wac plug "$work/async_middle.wasm" --plug "$work/async_leaf.wasm" -o "$work/async_middle_leaf.wasm"
wac plug "$work/async_front.wasm" --plug "$work/async_middle_leaf.wasm" -o "$work/async-chain.wasm"

echo "== validating"
names="calc chain resources reexport res-export bench async-calls async-chain"
for name in $names; do
    wasm-tools validate "$work/$name.wasm"
    # The composition must leave only host imports: WASI, and the async
    # fixture's clock (defined by the test host).
    if wasm-tools component wit "$work/$name.wasm" | grep -E '^\s*import ' \
        | grep -v -e ' wasi:' -e ' meld:async-demo/clock;' >&2; then
        echo "error: $name.wasm still has non-WASI imports (above)" >&2
        exit 1
    fi
    cp "$work/$name.wasm" "$here/$name.wasm"
done

echo "== outputs"
for name in $names; do
    printf '%-16s %8d bytes\n' "$name.wasm" "$(wc -c <"$here/$name.wasm")"
done
