// Run in the page: a component is transpiled by jco's own transpiler running in
// the browser (`@bytecodealliance/jco-transpile/component`, itself a
// jco-transpiled component; `@bytecodealliance/jco/component` re-exports it),
// instantiated with the WASI
// preview2 shim, and its `wasi:cli/run` export called with stdout and stderr
// captured.
import { $init, generate } from '@bytecodealliance/jco-transpile/component';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return new TextDecoder().decode(out);
}

function sink(chunks) {
  return { write(bytes) { chunks.push(bytes.slice()); }, flush() {}, blockingFlush() {}, drop() {} };
}

/**
 * Transpiles `bytes` and, if it exports `wasi:cli/run`, runs it. Resolves to
 * `{ runnable: false, exports }` or `{ runnable: true, stdout, stderr, status, trap }`.
 */
export async function runCommand(bytes, name) {
  await $init;
  const t = generate(bytes, {
    name, instantiation: { tag: 'async' }, noTypescript: true, noNodejsCompat: true,
    noComponentErrorWrapping: false,
    // A fused component's one core module has several memories (one per inner
    // instance, kept apart); jco refuses such a module unless told to emit
    // multi-memory output, which every current browser runs.
    multiMemory: true,
  });
  const exportNames = t.exports.map(([n]) => n);
  const runName = exportNames.find((n) => /^wasi:cli\/run(@|$)/.test(n));
  if (!runName) return { runnable: false, exports: exportNames };
  const files = new Map(t.files);
  const url = URL.createObjectURL(new Blob([files.get(`${name}.js`)], { type: 'text/javascript' }));
  let mod;
  try {
    mod = await import(url);
  } finally {
    URL.revokeObjectURL(url);
  }
  const stdout = [], stderr = [];
  const shim = new WASIShim({
    stdout: sink(stdout), stderr: sink(stderr), environment: {}, arguments: [name],
  });
  const instance = await mod.instantiate((file) => WebAssembly.compile(files.get(file)),
    shim.getImportObject());
  let status = 0, trap;
  try {
    instance[runName].run();
  } catch (e) {
    if (e && e.exitError) status = e.code;
    else if (e && e.constructor && e.constructor.name === 'ComponentError') status = 1;
    else trap = String(e && e.message || e);
  }
  return { runnable: true, stdout: concat(stdout), stderr: concat(stderr), status, trap };
}
