// Fuses a component with @meld/fuser.   node web/example.mjs IN.wasm OUT.wasm
import { readFileSync, writeFileSync } from 'node:fs';
import { fuse, inspect, formatDiagnostic } from '@meld/fuser';

const [input, output] = process.argv.slice(2);
const bytes = readFileSync(input);
const r = fuse(bytes);
if (r.ok) {
  writeFileSync(output, r.output); // r.output: Uint8Array
  console.log(`${input}: ${bytes.length} bytes -> ${output}: ${r.output.length} bytes`);
} else {
  for (const d of r.diagnostics) console.error(formatDiagnostic(d, input));
  process.exitCode = 1;
}

const i = inspect(bytes);
if (i.ok) {
  const components = i.inspection.nodes.filter((n) => n.kind === 'component');
  console.log(`${components.length} inner component instance(s), ${i.inspection.edges.length} wires`);
}
