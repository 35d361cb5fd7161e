// Shared by the tests: paths, and the reference output of `meld-host fuse`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoDir = resolve(webDir, '..');
export const examplesDir = join(repoDir, 'examples');
export const meldHost = process.env.MELD_HOST ?? join(repoDir, 'target/release/meld-host');

/**
 * The bytes `meld-host fuse` writes for `input` (a path); `emit` is its `--emit`
 * (`component`, the default, or `core`).
 */
export function meldHostFuse(input, emit = 'component') {
  const dir = mkdtempSync(join(tmpdir(), 'meld-web-'));
  const out = join(dir, 'out.wasm');
  execFileSync(meldHost, ['fuse', '--emit', emit, input, '-o', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Uint8Array(readFileSync(out));
}

/** The 8-byte preamble of a core module and of a component, as hex. */
export const CORE_PREAMBLE = '0061736d01000000';
export const COMPONENT_PREAMBLE = '0061736d0d000100';
export const preamble = (bytes) => Buffer.from(bytes.subarray(0, 8)).toString('hex');

/** Whether this JS engine compiles modules with several memories (Node ≥ 22; not Node 20). */
export const engineHasMultiMemory = WebAssembly.validate(
  new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 5, 2, 0, 1, 0, 1]));

/**
 * The imports, exports and custom sections of a core module, read from its
 * sections, in the shapes `WebAssembly.Module.imports`/`.exports` give (and
 * custom sections as `{ name, bytes }`): for engines that cannot compile the
 * module (Node 20 has no multi-memory). Not a validator.
 */
export function readCoreModule(bytes) {
  const kinds = ['function', 'table', 'memory', 'global', 'tag'];
  let at = 8;
  const u32 = () => {
    let n = 0, shift = 0, b;
    do { b = bytes[at++]; n += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return n;
  };
  const name = () => { const len = u32(); const s = new TextDecoder().decode(bytes.subarray(at, at + len)); at += len; return s; };
  const limits = () => { const flags = bytes[at++]; u32(); if (flags & 1) u32(); };
  const imports = [], exports = [], customSections = [];
  if (preamble(bytes) !== CORE_PREAMBLE) throw new Error(`not a core module: ${preamble(bytes)}`);
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = u32();
    const end = at + size;
    if (id === 0) {
      const n = name();
      customSections.push({ name: n, bytes: bytes.subarray(at, end) });
    } else if (id === 2) {
      for (let i = u32(); i > 0; i--) {
        const module = name(), field = name(), kind = bytes[at++];
        if (kind === 0) u32();
        else if (kind === 1) { at++; limits(); }
        else if (kind === 2) limits();
        else if (kind === 3) at += 2;
        else if (kind === 4) { at++; u32(); }
        else throw new Error(`import kind ${kind}`);
        imports.push({ module, name: field, kind: kinds[kind] });
      }
    } else if (id === 7) {
      for (let i = u32(); i > 0; i--) {
        const n = name(), kind = bytes[at++];
        u32();
        exports.push({ name: n, kind: kinds[kind] });
      }
    }
    at = end;
  }
  return { imports, exports, customSections };
}

/** A file that is not WebAssembly, and the code Meld gives it. */
export const badInput = new TextEncoder().encode('this is not a component\n');
export const badInputCode = 'E0002';
