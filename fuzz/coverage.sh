#!/usr/bin/env bash
# Line coverage of the fuser (guest/src) reached by the fuzzers, per file:
#
#   fuzz/coverage.sh [DIFFERENTIAL_CASES [FUSE_CASES]]
#
# Runs the stable fuzzers (seed 1) under `cargo llvm-cov` (LLVM source-based
# coverage; needs `rustup component add llvm-tools` and `cargo install
# cargo-llvm-cov`) and prints the summary for guest/src only. Run by hand,
# not by CI; an instrumented build takes several minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
differential=${1:-2000}
fuse=${2:-20000}
cargo llvm-cov clean --workspace
cargo llvm-cov run --release -p meld-fuzz --no-report -- differential --seed 1 --cases "$differential"
cargo llvm-cov run --release -p meld-fuzz --no-report -- fuse --seed 1 --cases "$fuse"
cargo llvm-cov report --release --summary-only \
    --ignore-filename-regex '(\.cargo/registry|/rustc/|fuzz/|tests/|host-cli/|benches/)'
