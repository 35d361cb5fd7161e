#!/usr/bin/env bash
# Runs all of Meld's tests: the command CI runs (.ci/run) and README documents.
# Installs what it needs: the wasm32-wasip2 Rust target (the guest component is
# built by host-cli/build.rs), the wasm32-unknown-unknown target (the async
# runtime, compiled by guest/build.rs) and npm's binaryen (tests/tools). Everything else
# comes from crates.io and npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for target in wasm32-wasip2 wasm32-unknown-unknown; do
    if ! rustup target list --installed | grep -qx "$target"; then
        rustup target add "$target"
    fi
done

# wasm-opt (npm `binaryen`), which tests/core_output.rs runs on Meld's core
# module output.
if [ ! -x tests/tools/node_modules/.bin/wasm-opt ]; then
    npm ci --prefix tests/tools --no-audit --no-fund
fi

# Release: the tests run the guest component and the examples under wasmtime,
# which is much faster optimised; the guest is built in release anyway.
cargo test --workspace --release --locked "$@"

# The fuzzers on stable Rust, fixed seeds (a red run names the case that
# reproduces it): random compositions fused and unfused (differential),
# and bytes into the fuser (robustness). Reproducers go to
# target/fuzz-reproducers/. A few minutes at most.
cargo run --release --locked -q -p meld-fuzz -- differential --seed 1 --cases 3000 --seconds 300
cargo run --release --locked -q -p meld-fuzz -- fuse --seed 1 --cases 20000 --seconds 180

# The JS package and the browser playground over the same guest component:
# a Node test and a Playwright test in Debian's Chromium (installed by
# web/test.sh with apt-get if missing; npm packages from the registry).
web/test.sh
