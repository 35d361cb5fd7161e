#!/usr/bin/env bash
# Builds the JS package and the playground, both over the Meld guest component.
#
#   web/build.sh
#
# 1. npm dependencies, the versions locked in package-lock.json, from the registry
# 2. the guest: cargo build -p meld --release --target wasm32-wasip2
#    (CARGO_TARGET_DIR=target/guest); MELD_WEB_SKIP_CARGO=1 uses the built one as is
# 3. jco transpile of the guest into web/lib/meld/ (the JS package's bindings)
# 4. the playground, self-contained, in web/dist/site/ (serve it: node web/serve.mjs)
set -euo pipefail
web="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$web")"
cd "$web"

# 1. npm dependencies, exactly as locked; skipped when node_modules matches the lock.
#    Not `npm ci`: the registry here lacks some other platforms' optional native
#    packages (e.g. @bytecodealliance/jco-node-fs-win32-*), so the lock cannot list
#    them and `npm ci` calls it out of sync. `npm install --no-save` installs the
#    locked versions and leaves package-lock.json as it is.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "== npm install (locked)"
    npm install --no-save --no-audit --no-fund
fi

# 2. The guest component (cargo makes this a no-op when it is up to date).
guest="$repo/target/guest/wasm32-wasip2/release/meld.wasm"
if [ "${MELD_WEB_SKIP_CARGO:-}" = 1 ] && [ -f "$guest" ]; then
    echo "== using the guest as built: $guest"
else
    if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
        rustup target add wasm32-wasip2
    fi
    if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        rustup target add wasm32-unknown-unknown
    fi
    echo "== cargo build -p meld --release --target wasm32-wasip2"
    (cd "$repo" && CARGO_TARGET_DIR=target/guest cargo build --locked -p meld --release --target wasm32-wasip2)
fi

# 3. The JS package's bindings: the guest transpiled by jco. The output runs in
#    Node (reads meld.core.wasm from disk) and in browsers (fetches it).
echo "== jco transpile $guest -> web/lib/meld/"
rm -rf lib/meld
node transpile.mjs "$guest" lib/meld meld

# 4. The playground: its own files, the package, the examples, and the browser
#    builds of the npm dependencies that its import map points at.
echo "== playground -> web/dist/site/"
site=dist/site
rm -rf "$site"
mkdir -p "$site"/lib "$site"/examples "$site"/vendor/{preview2-shim,preview2-shim-common,jco-transpile}
cp playground/*.html playground/*.js playground/*.css "$site"/
cp -r lib/index.js lib/meld "$site"/lib/
rm -rf "$site"/lib/meld/interfaces "$site"/lib/meld/*.d.ts
cp "$repo"/examples/calc.wasm "$repo"/examples/chain.wasm "$site"/examples/
bca=node_modules/@bytecodealliance
cp "$bca"/preview2-shim/dist/browser/*.js "$site"/vendor/preview2-shim/
cp "$bca"/preview2-shim/dist/common/instantiation.js "$site"/vendor/preview2-shim-common/
cp "$bca"/jco-transpile/vendor/js-component-bindgen-component.js \
   "$bca"/jco-transpile/vendor/js-component-bindgen-component.core*.wasm "$site"/vendor/jco-transpile/
# Source maps point at files that are not shipped; drop their references.
find "$site"/vendor -name '*.js' -exec sed -i '/^\/\/# sourceMappingURL=/d' {} +
echo "== built: $(du -sh "$site" | cut -f1) in web/dist/site; serve with: node web/serve.mjs"
