// The JS package, imported by its name as Node resolves it from package.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fuse, fuseWith, fuseWithAvailable, formatDiagnostic, inspect, inspectAvailable, outputKinds } from '@meld/fuser';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  badInput, badInputCode, COMPONENT_PREAMBLE, CORE_PREAMBLE, engineHasMultiMemory, examplesDir, meldHostFuse,
  preamble, readCoreModule, webDir,
} from './helpers.mjs';

for (const name of ['calc', 'chain']) {
  test(`fuse(${name}.wasm) gives the bytes meld-host fuse gives`, () => {
    const path = join(examplesDir, `${name}.wasm`);
    const r = fuse(readFileSync(path));
    assert.equal(r.ok, true, r.ok ? '' : r.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
    assert.ok(r.output instanceof Uint8Array);
    const expected = meldHostFuse(path);
    assert.equal(r.output.length, expected.length);
    assert.ok(Buffer.from(r.output).equals(Buffer.from(expected)), 'bytes differ from meld-host');
  });
}

test('fuse accepts an ArrayBuffer and is deterministic', () => {
  const bytes = readFileSync(join(examplesDir, 'calc.wasm'));
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const a = fuse(ab);
  const b = fuse(new Uint8Array(bytes));
  assert.ok(a.ok && b.ok);
  assert.ok(Buffer.from(a.output).equals(Buffer.from(b.output)));
});

test('bad input gives diagnostics, not bytes', () => {
  const r = fuse(badInput);
  assert.equal(r.ok, false);
  assert.equal(r.output, undefined);
  assert.ok(r.diagnostics.length >= 1);
  const d = r.diagnostics[0];
  assert.equal(d.severity, 'error');
  assert.equal(d.code, badInputCode);
  assert.equal(typeof d.message, 'string');
  assert.equal(d.offset, 0);
  assert.match(formatDiagnostic(d, 'bad.wasm'), /^error\[E0002\]: .*\n  --> bad\.wasm @ byte 0x0/);
});

test('empty input gives diagnostics', () => {
  const r = fuse(new Uint8Array(0));
  assert.equal(r.ok, false);
  assert.ok(r.diagnostics.length >= 1 && /^E\d{4}$/.test(r.diagnostics[0].code));
});

test('a non-bytes input is a TypeError', () => {
  assert.throws(() => fuse('calc.wasm'), TypeError);
});

// fuseWith: the kinds of output of WIT `fuse-with`.

test('fuseWith is there, with the kinds component and core', () => {
  assert.equal(fuseWithAvailable, true, 'the guest built from this checkout exports fuse-with');
  assert.deepEqual([...outputKinds], ['component', 'core']);
});

for (const name of ['calc', 'chain']) {
  test(`fuseWith(${name}.wasm, { output: 'core' }) is a wasm32 build-target core module, as meld-host --emit core`, (t) => {
    const path = join(examplesDir, `${name}.wasm`);
    const r = fuseWith(readFileSync(path), { output: 'core' });
    assert.equal(r.ok, true, r.ok ? '' : r.diagnostics.map((d) => formatDiagnostic(d)).join('\n'));
    assert.ok(r.output instanceof Uint8Array);
    // A core module (version 1), not the component layer (0d 00 01 00).
    assert.equal(preamble(r.output), CORE_PREAMBLE);
    assert.notEqual(preamble(r.output), COMPONENT_PREAMBLE);
    assert.ok(Buffer.from(r.output).equals(Buffer.from(meldHostFuse(path, 'core'))), 'bytes differ from meld-host --emit core');

    // Imports, exports and custom sections: by the engine where it can compile the
    // module (it has several memories: Node >= 22), else read from the sections;
    // Chromium validates it in the browser test either way.
    let imports, exports, customSections;
    if (engineHasMultiMemory) {
      assert.equal(WebAssembly.validate(r.output), true, 'WebAssembly.validate rejects the core module');
      const m = new WebAssembly.Module(r.output);
      imports = WebAssembly.Module.imports(m);
      exports = WebAssembly.Module.exports(m);
      customSections = WebAssembly.Module.customSections(m, 'component-type').map((b) => new Uint8Array(b));
    } else {
      t.diagnostic(`Node ${process.versions.node} (V8 ${process.versions.v8}) has no multi-memory: sections read in JS, WebAssembly.validate left to Chromium`);
      const info = readCoreModule(r.output);
      ({ imports, exports } = info);
      customSections = info.customSections.filter((c) => c.name === 'component-type').map((c) => c.bytes);
    }
    const kindOf = new Map(exports.map((e) => [e.name, e.kind]));
    assert.equal(kindOf.get('cm32p2_memory'), 'memory');
    assert.equal(kindOf.get('cm32p2_realloc'), 'function');
    assert.equal(kindOf.get('cm32p2_initialize'), 'function');
    assert.equal(kindOf.get('cm32p2|wasi:cli/run@0.2|run'), 'function');
    for (const e of exports) assert.match(e.name, /^cm32p2(_|\|)/, `export ${e.name}`);
    assert.ok(imports.length >= 1);
    for (const i of imports) {
      assert.ok(i.module === 'cm32p2' || i.module.startsWith('cm32p2|'), `import ${i.module} ${i.name}`);
      assert.equal(i.kind, 'function', `import ${i.module} ${i.name}`);
    }
    assert.ok(imports.some((i) => i.module.startsWith('cm32p2|wasi:cli/stdout@')), 'no stdout import');
    // The world, embedded as a component (wit-component's encoding of it).
    assert.equal(customSections.length, 1, 'one component-type custom section');
    assert.equal(preamble(customSections[0]), COMPONENT_PREAMBLE);
  });
}

test("fuseWith { output: 'component' } and no options give fuse's bytes", () => {
  const bytes = readFileSync(join(examplesDir, 'calc.wasm'));
  const expected = Buffer.from(fuse(bytes).output);
  const a = fuseWith(bytes, { output: 'component' });
  const b = fuseWith(bytes);
  const c = fuseWith(bytes, {});
  for (const r of [a, b, c]) {
    assert.equal(r.ok, true);
    assert.equal(preamble(r.output), COMPONENT_PREAMBLE);
    assert.ok(Buffer.from(r.output).equals(expected));
  }
  // Core output is deterministic too, and accepts an ArrayBuffer.
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const x = fuseWith(ab, { output: 'core' });
  const y = fuseWith(new Uint8Array(bytes), { output: 'core' });
  assert.ok(x.ok && y.ok);
  assert.ok(Buffer.from(x.output).equals(Buffer.from(y.output)));
});

test('fuseWith gives the diagnostics of fuse for bad input, whatever the output', () => {
  for (const input of [new Uint8Array(0), badInput, readFileSync(join(webDir, 'package.json'))]) {
    const expected = fuse(input);
    assert.equal(expected.ok, false);
    for (const output of outputKinds) {
      const r = fuseWith(input, { output });
      assert.equal(r.ok, false, output);
      assert.equal(r.output, undefined);
      assert.deepEqual(r.diagnostics, expected.diagnostics, `output ${output}`);
    }
  }
  assert.equal(fuseWith(badInput, { output: 'core' }).diagnostics[0].code, badInputCode);
  assert.equal(fuseWith(new Uint8Array(0), { output: 'core' }).diagnostics[0].code, 'E0001');
});

test('fuseWith rejects bad options and inputs with a TypeError', () => {
  const bytes = readFileSync(join(examplesDir, 'calc.wasm'));
  assert.throws(() => fuseWith(bytes, { output: 'wasm' }), TypeError);
  assert.throws(() => fuseWith(bytes, { ouptut: 'core' }), /unknown option `ouptut`/);
  assert.throws(() => fuseWith(bytes, 'core'), TypeError);
  assert.throws(() => fuseWith(bytes, null), TypeError);
  assert.throws(() => fuseWith('calc.wasm', { output: 'core' }), TypeError);
});

test('inspect gives the world and graph (when the guest has it)', (t) => {
  if (!inspectAvailable) {
    t.skip('this guest build does not export inspect yet');
    return;
  }
  const r = inspect(readFileSync(join(examplesDir, 'calc.wasm')));
  assert.equal(r.ok, true);
  assert.match(r.inspection.world, /world/);
  assert.ok(r.inspection.nodes.some((n) => n.kind === 'component'));
  assert.ok(r.inspection.edges.length >= 1);
  for (const e of r.inspection.edges) {
    assert.ok(r.inspection.nodes[e.source] && r.inspection.nodes[e.target]);
  }
  assert.equal(r.inspection.fusedBy, undefined);
  const bad = inspect(badInput);
  assert.equal(bad.ok, false);
  assert.equal(bad.diagnostics[0].code, badInputCode);

  // Nested compositions are looked through: chain-app <- chain-middle <-
  // chain-leaf is three components; its fused output is one, and says so.
  const chain = readFileSync(join(examplesDir, 'chain.wasm'));
  const components = (i) => i.nodes.filter((n) => n.kind === 'component').length;
  const c = inspect(chain);
  assert.equal(c.ok, true);
  assert.equal(components(c.inspection), 3);
  const fused = fuse(chain);
  assert.equal(fused.ok, true);
  const f = inspect(fused.output);
  assert.equal(f.ok, true);
  assert.equal(components(f.inspection), 1);
  assert.match(f.inspection.fusedBy, /^meld \d+\.\d+\.\d+$/);
});

test('example.mjs (the README example) fuses to a component and to a core module, and fails with a diagnostic on bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meld-example-'));
  const input = join(examplesDir, 'chain.wasm');
  const out = join(dir, 'chain.fused.wasm');
  const stdout = execFileSync(process.execPath, [join(webDir, 'example.mjs'), input, out], { encoding: 'utf8' });
  assert.match(stdout, /bytes -> .* bytes/);
  assert.ok(readFileSync(out).equals(Buffer.from(meldHostFuse(input))));
  const core = join(dir, 'chain.core.wasm');
  const coreStdout = execFileSync(process.execPath, [join(webDir, 'example.mjs'), input, core, 'core'], { encoding: 'utf8' });
  assert.match(coreStdout, /bytes -> .* bytes \(core\)/);
  assert.ok(readFileSync(core).equals(Buffer.from(meldHostFuse(input, 'core'))));
  const bad = spawnSync(process.execPath, [join(webDir, 'example.mjs'), join(webDir, 'package.json'), join(dir, 'x.wasm')],
    { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^error\[E\d{4}\]: /);
});
