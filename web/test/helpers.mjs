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

/** The bytes `meld-host fuse` writes for `input` (a path). */
export function meldHostFuse(input) {
  const dir = mkdtempSync(join(tmpdir(), 'meld-web-'));
  const out = join(dir, 'out.wasm');
  execFileSync(meldHost, ['fuse', input, '-o', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Uint8Array(readFileSync(out));
}

/** A file that is not WebAssembly, and the code Meld gives it. */
export const badInput = new TextEncoder().encode('this is not a component\n');
export const badInputCode = 'E0002';
