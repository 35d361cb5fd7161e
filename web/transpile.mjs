#!/usr/bin/env node
// Transpiles a component to JS with jco (`@bytecodealliance/jco-transpile`, the
// library behind `jco transpile`), writing the generated files to OUTDIR.
//
//   node web/transpile.mjs COMPONENT.wasm OUTDIR NAME
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { transpile } from '@bytecodealliance/jco-transpile';

const [component, outDir, name] = process.argv.slice(2);
if (!name) {
  console.error('usage: node web/transpile.mjs COMPONENT.wasm OUTDIR NAME');
  process.exit(2);
}
// Options as the `jco transpile` CLI sets them: an `err` result is thrown as a
// ComponentError whose `payload` is the error value.
const { files } = await transpile(component, { name, outDir, noComponentErrorWrapping: false });
for (const [file, bytes] of Object.entries(files)) {
  // Keys are outDir joined with the file's name.
  const path = resolve(file);
  if (relative(resolve(outDir), path).startsWith('..')) throw new Error(`jco wrote outside ${outDir}: ${file}`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}
console.log(`transpiled ${component} -> ${outDir}: ${Object.keys(files).length} files`);
