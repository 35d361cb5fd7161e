// The JS package, imported by its name as Node resolves it from package.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fuse, formatDiagnostic, inspect, inspectAvailable } from '@meld/fuser';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { badInput, badInputCode, examplesDir, meldHostFuse, webDir } from './helpers.mjs';

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
  const bad = inspect(badInput);
  assert.equal(bad.ok, false);
  assert.equal(bad.diagnostics[0].code, badInputCode);
});

test('example.mjs (the README example) fuses, and fails with a diagnostic on bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meld-example-'));
  const input = join(examplesDir, 'chain.wasm');
  const out = join(dir, 'chain.fused.wasm');
  const stdout = execFileSync(process.execPath, [join(webDir, 'example.mjs'), input, out], { encoding: 'utf8' });
  assert.match(stdout, /bytes -> .* bytes/);
  assert.ok(readFileSync(out).equals(Buffer.from(meldHostFuse(input))));
  const bad = spawnSync(process.execPath, [join(webDir, 'example.mjs'), join(webDir, 'package.json'), join(dir, 'x.wasm')],
    { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^error\[E\d{4}\]: /);
});
