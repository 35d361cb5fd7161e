#!/usr/bin/env bash
# Fuses a bundled example composition with meld-host and runs the input and the
# fused output side by side. Sets up what it needs (the wasm32-wasip2 target;
# meld-host and the guest are built from source on first use).
#
#   examples/demo.sh [EXAMPLE]     EXAMPLE: calc (default) or chain
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

example="${1:-calc}"
input="examples/$example.wasm"
[ -f "$input" ] || { echo "error: no example named '$example' (try calc or chain)" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
cargo build --release --locked -p meld-host
meld=target/release/meld-host
out="target/$example.fused.wasm"

echo "== meld-host fuse $input -o $out"
"$meld" fuse --verbose "$input" -o "$out"
echo "   $(stat -c %s "$input") bytes -> $(stat -c %s "$out") bytes"

"$meld" run "$input" > "target/$example.input.stdout"
"$meld" run "$out" > "target/$example.fused.stdout"
echo "== fused output, run by meld-host run $out:"
cat "target/$example.fused.stdout"
if cmp -s "target/$example.input.stdout" "target/$example.fused.stdout"; then
    echo "== input and fused output printed the same $(wc -c < "target/$example.fused.stdout") bytes"
else
    echo "== input and fused output differ:" >&2
    diff "target/$example.input.stdout" "target/$example.fused.stdout" >&2 || true
    exit 1
fi
