/**
 * @meld/fuser — Meld, the static fuser of WebAssembly components, as the
 * jco-transpiled Meld guest component. The contract is the WIT interface
 * `meld:fuser/fuser@0.1.0` (`wit/fuser.wit`).
 */

/** How serious a diagnostic is. */
export type Severity = 'error' | 'warning' | 'note';

/** One finding about the input (WIT `diagnostic`). */
export interface Diagnostic {
  severity: Severity;
  /** Stable code, `E0001`…; the list is in `guest/src/diagnostics.rs`. */
  code: string;
  /** What went wrong, phrased so that a person can act on it. */
  message: string;
  /** Byte offset into the input where the problem is, when known. */
  offset?: number;
  /** Further context, one line each. */
  notes: string[];
}

export type Input = Uint8Array | ArrayBuffer | ArrayBufferView;

export type FuseResult =
  | { ok: true; output: Uint8Array }
  | { ok: false; diagnostics: Diagnostic[] };

/** What a node of the composition graph is. */
export type NodeKind = 'component' | 'host-import' | 'host-export';

export interface Node {
  /** Index of the node in `Inspection.nodes`. */
  id: number;
  kind: NodeKind;
  /**
   * For a component: `component N` (numbered in instantiation order over the
   * whole composition, nested ones included), followed by `: ` and the names it
   * exports to other nodes when it exports any. For host nodes: the import or
   * export name.
   */
  name: string;
}

/** `source` supplies `name` to `target` (node ids). */
export interface Edge {
  source: number;
  target: number;
  name: string;
}

export interface Inspection {
  /** The outer world as WIT text. */
  world: string;
  /**
   * Inner component instances and the host's imports and exports. The component
   * nodes are the instances of components that hold code (core modules): nested
   * compositions (e.g. from `wac plug` applied twice) are looked through, so a
   * chain of three components has three nodes.
   */
  nodes: Node[];
  /** Who supplies what to whom. */
  edges: Edge[];
  /**
   * Set when the input is the output of Meld: the tool and version from its
   * `producers` section, e.g. `'meld 0.1.0'`; undefined otherwise (WIT
   * `fused-by: option<string>`).
   */
  fusedBy?: string;
}

export type InspectResult =
  | { ok: true; inspection: Inspection }
  | { ok: false; diagnostics: Diagnostic[] };

/**
 * Fuses the component `input` into a component with the same outer world whose
 * program code is one core module. On error no bytes are returned, only
 * diagnostics. Throws only if the guest traps (a bug in Meld).
 */
export function fuse(input: Input): FuseResult;

/**
 * What `fuseWith` produces (WIT enum `output`):
 * - `'component'`: a component with the input's outer world whose program code
 *   is one core module — what `fuse` returns;
 * - `'core'`: one core module in the component model's `wasm32` build target:
 *   the world's functions imported as `cm32p2|<interface>` / `<func>` and
 *   exported as `cm32p2|<interface>|<func>`, one memory `cm32p2_memory`,
 *   `cm32p2_realloc`, `cm32p2_initialize` (call it before any other export),
 *   `utf8` strings; the world is embedded as a `component-type` custom section,
 *   so `wasm-tools component new` turns the module back into a component.
 */
export type OutputKind = 'component' | 'core';

/** Options of `fuseWith` (WIT record `options`). */
export interface FuseOptions {
  /** The kind of output; `'component'` when left out. */
  output?: OutputKind;
}

/** The kinds of output `fuseWith` makes, `['component', 'core']`. */
export const outputKinds: readonly OutputKind[];

/**
 * Fuses `input` as `fuse` does, into the kind of output `options.output` asks
 * for (`'component'` by default, the bytes `fuse` gives; or `'core'`, a core
 * module). The same input gives the same diagnostics for every kind of output.
 * Throws a TypeError on an unknown option or kind, an Error if
 * `fuseWithAvailable` is false, and otherwise only if the guest traps (a bug in
 * Meld).
 */
export function fuseWith(input: Input, options?: FuseOptions): FuseResult;

/** True when the bundled guest exports `fuse-with`. */
export const fuseWithAvailable: boolean;

/** True when the bundled guest exports `inspect`. */
export const inspectAvailable: boolean;

/**
 * Describes `input` without fusing it: its world as WIT, its instance graph
 * (nested compositions looked through) and whether Meld produced it
 * (`fusedBy`). Throws if `inspectAvailable` is false.
 */
export function inspect(input: Input): InspectResult;

/** Renders a diagnostic like `meld-host` does. */
export function formatDiagnostic(d: Diagnostic, fileName?: string): string;
