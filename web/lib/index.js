// @meld/fuser: Meld, the static fuser of WebAssembly components, for Node and
// bundlers. Everything here runs the Meld guest component (`guest/`, built for
// wasm32-wasip2) transpiled by jco into `./meld/`; nothing of fusion is
// reimplemented in JS. The contract is the WIT interface `meld:fuser/fuser`
// (`wit/fuser.wit`): bytes in, bytes or diagnostics out.
import { fuser } from './meld/meld.js';

/** True when the bundled guest exports `inspect` (older guests only `fuse`). */
export const inspectAvailable = typeof fuser.inspect === 'function';

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

/**
 * Describes the component `input` without fusing it: its outer world as WIT text
 * and its top-level instance graph. Returns `{ ok: true, inspection }` or
 * `{ ok: false, diagnostics }`. Throws if the bundled guest has no `inspect`
 * (see `inspectAvailable`).
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
