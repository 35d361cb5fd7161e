// Fuses a component with @meld/fuser.   node web/example.mjs IN.wasm OUT.wasm [component|core]
import { readFileSync, writeFileSync } from 'node:fs';
import { fuseWith, inspect, formatDiagnostic } from '@meld/fuser';

const [input, output, kind = 'component'] = process.argv.slice(2);
const bytes = readFileSync(input);
const r = fuseWith(bytes, { output: kind }); // 'component' (= fuse(bytes)) or 'core'
if (r.ok) {
  writeFileSync(output, r.output); // r.output: Uint8Array
  console.log(`${input}: ${bytes.length} bytes -> ${output}: ${r.output.length} bytes (${kind})`);
} else {
  for (const d of r.diagnostics) console.error(formatDiagnostic(d, input));
  process.exitCode = 1;
}

const i = inspect(bytes);
if (i.ok) {
  const components = i.inspection.nodes.filter((n) => n.kind === 'component');
  console.log(`${components.length} inner component instance(s), ${i.inspection.edges.length} wires`);
}
