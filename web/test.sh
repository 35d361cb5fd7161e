#!/usr/bin/env bash
# Builds web/ and runs its tests: the JS package under Node, and the playground
# in Debian's Chromium driven by Playwright. Exits non-zero on any failure.
#
#   web/test.sh            (MELD_WEB_SKIP_CARGO=1: use the guest and meld-host as built)
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$web")"
cd "$web"

# Playwright cannot download a browser here: it drives Debian's chromium.
if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq chromium
fi

./build.sh

# meld-host gives the reference bytes the tests compare with.
if [ "${MELD_WEB_SKIP_CARGO:-}" = 1 ] && [ -x "$repo/target/release/meld-host" ]; then
    :
else
    (cd "$repo" && cargo build --release --locked -p meld-host)
fi

echo "== node --test (JS package, then playground in Chromium)"
node --test --test-concurrency=1 test/package.test.mjs test/browser.test.mjs
