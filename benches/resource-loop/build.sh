#!/usr/bin/env bash
# Rebuilds benches/resource-loop.wasm (app <- lib, composed with wac).
# Needs wasm-tools and wac (cargo install --locked wasm-tools wac-cli).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$here"
for name in lib app; do
    wasm-tools parse "$name.wat" -o "$work/$name.core.wasm"
    wasm-tools component embed wit --world "$name" "$work/$name.core.wasm" -o "$work/$name.embed.wasm"
    wasm-tools component new "$work/$name.embed.wasm" -o "$work/$name.wasm"
done
wac plug "$work/app.wasm" --plug "$work/lib.wasm" -o "$here/../resource-loop.wasm"
wasm-tools validate "$here/../resource-loop.wasm"
