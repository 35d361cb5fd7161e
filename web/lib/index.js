// @meld/fuser: Meld, the static fuser of WebAssembly components, for Node and
// bundlers. Everything here runs the Meld guest component (`guest/`, built for
// wasm32-wasip2) transpiled by jco into `./meld/`; nothing of fusion is
// reimplemented in JS. The contract is the WIT interface `meld:fuser/fuser`
// (`wit/fuser.wit`): bytes in, bytes or diagnostics out.
import { fuser } from './meld/meld.js';

/** True when the bundled guest exports `inspect` (older guests only `fuse`). */
export const inspectAvailable = typeof fuser.inspect === 'function';

/** True when the bundled guest exports `fuse-with` (older guests only `fuse`). */
export const fuseWithAvailable = typeof fuser.fuseWith === 'function';

/** The kinds of output `fuseWith` makes: the cases of the WIT enum `output`. */
export const outputKinds = Object.freeze(['component', 'core']);

function toBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) {
    return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  }
  throw new TypeError('meld: input must be a Uint8Array, an ArrayBuffer or an ArrayBufferView');
}

// The WIT `option<u64>` offset arrives from jco as a bigint or undefined; byte
// offsets into an in-memory input always fit in a JS number.
function toDiagnostic(d) {
  return {
    severity: d.severity,
    code: d.code,
    message: d.message,
    offset: d.offset === undefined ? undefined : Number(d.offset),
    notes: [...d.notes],
  };
}

// jco turns the `err` case of a WIT `result` into a thrown ComponentError whose
// `payload` is the error value; anything else thrown is a trap (a bug in the guest)
// and is rethrown as it is.
function call(f, input) {
  try {
    return { ok: true, value: f(toBytes(input)) };
  } catch (e) {
    if (e && e.constructor && e.constructor.name === 'ComponentError' && Array.isArray(e.payload)) {
      return { ok: false, diagnostics: e.payload.map(toDiagnostic) };
    }
    throw e;
  }
}

/**
 * Fuses the component `input` into a component with the same outer world whose
 * program code is one core module. Returns `{ ok: true, output }` with the bytes of
 * the fused component, or `{ ok: false, diagnostics }` (no bytes then).
 */
export function fuse(input) {
  const r = call(fuser.fuse, input);
  return r.ok ? { ok: true, output: r.value } : r;
}

// The WIT record `options`, checked here so that a typo (`{ ouptut: 'core' }`)
// or an unknown kind is a TypeError rather than a silent default.
function toOptions(options) {
  if (options === undefined) return { output: 'component' };
  if (options === null || typeof options !== 'object') {
    throw new TypeError('meld: options must be an object, e.g. { output: \'core\' }');
  }
  for (const key of Object.keys(options)) {
    if (key !== 'output') throw new TypeError(`meld: unknown option \`${key}\` (known: output)`);
  }
  const output = options.output ?? 'component';
  if (!outputKinds.includes(output)) {
    throw new TypeError(`meld: options.output must be one of ${outputKinds.map((k) => `'${k}'`).join(', ')}, not ${JSON.stringify(output)}`);
  }
  return { output };
}

/**
 * Fuses the component `input` as `fuse` does, into the kind of output
 * `options.output` asks for: `'component'` (the default; the bytes `fuse` gives)
 * or `'core'`, one core module in the component model's `wasm32` build target
 * (imports `cm32p2|<interface>`, exports `cm32p2|<interface>|<func>`,
 * `cm32p2_memory`, `cm32p2_realloc`, `cm32p2_initialize`; the world embedded as
 * a `component-type` custom section). Returns `{ ok: true, output }` or
 * `{ ok: false, diagnostics }`; the same input gives the same diagnostics for
 * every kind of output. Throws a TypeError on bad options, and an Error if the
 * bundled guest has no `fuse-with` (see `fuseWithAvailable`).
 */
export function fuseWith(input, options) {
  const opts = toOptions(options);
  if (!fuseWithAvailable) {
    throw new Error('meld: this build of the Meld guest does not export `fuse-with` yet');
  }
  const r = call((bytes) => fuser.fuseWith(bytes, opts), input);
  return r.ok ? { ok: true, output: r.value } : r;
}

/**
 * Describes the component `input` without fusing it: its outer world as WIT text,
 * its instance graph (the components that hold code, nested compositions looked
 * through, and the host's imports and exports), and `fusedBy`, e.g.
 * `'meld 0.1.0'` when `input` is Meld's output (undefined otherwise). Returns
 * `{ ok: true, inspection }` or `{ ok: false, diagnostics }`. Throws if the
 * bundled guest has no `inspect` (see `inspectAvailable`).
 */
export function inspect(input) {
  if (!inspectAvailable) {
    throw new Error('meld: this build of the Meld guest does not export `inspect` yet');
  }
  const r = call(fuser.inspect, input);
  if (!r.ok) return r;
  const i = r.value;
  return {
    ok: true,
    inspection: {
      world: i.world,
      nodes: i.nodes.map((n) => ({ id: n.id, kind: n.kind, name: n.name })),
      edges: i.edges.map((e) => ({ source: e.source, target: e.target, name: e.name })),
      // WIT `option<string>`: a string or undefined (also from older guests,
      // whose inspection has no `fused-by`).
      fusedBy: i.fusedBy ?? undefined,
    },
  };
}

/**
 * Renders a diagnostic the way `meld-host` does, e.g.
 * `error[E0002]: the input is not WebAssembly …\n  --> in.wasm @ byte 0x0`.
 */
export function formatDiagnostic(d, fileName = 'input') {
  let s = `${d.severity}[${d.code}]: ${d.message}`;
  if (d.offset !== undefined) s += `\n  --> ${fileName} @ byte 0x${d.offset.toString(16)}`;
  for (const n of d.notes) s += `\n  = note: ${n}`;
  return s;
}
