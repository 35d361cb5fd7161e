// The playground: everything here calls the Meld guest component through the
// JS package (`./lib/index.js`, the jco-transpiled guest); nothing of fusion is
// done in JS.
import { fuse, fuseWith, fuseWithAvailable, inspect, inspectAvailable } from './lib/index.js';
import { drawGraph } from './graph.js';

const $ = (id) => document.getElementById(id);
const state = { name: null, input: null, output: null, kind: 'component', downloadUrl: null };

// What Fuse makes: 'component' (what `fuse` gives) or 'core' (a core module in the
// component model's wasm32 build target), the cases of WIT `output`.
const KINDS = {
  component: { label: 'component', suffix: '.fused.wasm', download: 'Download fused' },
  core: { label: 'core module (wasm32 build target)', suffix: '.core.wasm', download: 'Download core module' },
};
const chosenKind = () => document.querySelector('input[name="output"]:checked').value;

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

function size(n) {
  return n < 1024 ? `${n} bytes` : `${n.toLocaleString('en')} bytes (${(n / 1024).toFixed(1)} KiB)`;
}

function resetOutput() {
  state.output = null;
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = null;
  const dl = $('download');
  dl.removeAttribute('href');
  dl.classList.add('disabled');
  dl.setAttribute('aria-disabled', 'true');
  dl.textContent = KINDS[chosenKind()].download;
  $('run').disabled = true;
  $('run-note').hidden = true;
  for (const id of ['result', 'run-section', 'worlds-section', 'graph-section']) $(id).hidden = true;
}

function setInput(name, bytes) {
  state.name = name;
  state.input = bytes;
  resetOutput();
  $('input-name').textContent = `${name} — ${size(bytes.length)}`;
  $('fuse').disabled = false;
  status(`loaded ${name}; press Fuse`);
}

async function loadExample(which) {
  status(`loading ${which}.wasm…`);
  const res = await fetch(`./examples/${which}.wasm`);
  if (!res.ok) { status(`could not load ${which}.wasm: ${res.status}`, true); return; }
  setInput(`${which}.wasm`, new Uint8Array(await res.arrayBuffer()));
}

async function loadFile(file) {
  setInput(file.name, new Uint8Array(await file.arrayBuffer()));
}

function showDiagnostics(diags) {
  const body = $('diagnostics').querySelector('tbody');
  body.replaceChildren();
  for (const d of diags) {
    const tr = document.createElement('tr');
    tr.className = 'diagnostic';
    const cells = [d.severity, d.code, d.message,
      d.offset === undefined ? '—' : `0x${d.offset.toString(16)} (${d.offset})`];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      td.className = ['severity', 'code', 'message', 'offset'][i];
      if (i === 0) td.classList.add(`sev-${d.severity}`);
      if (i === 2 && d.notes.length) {
        const notes = document.createElement('div');
        notes.className = 'notes';
        notes.textContent = d.notes.map((n) => `note: ${n}`).join('\n');
        notes.style.whiteSpace = 'pre-wrap';
        td.append(notes);
      }
      tr.append(td);
    });
    body.append(tr);
  }
  $('diagnostics-box').hidden = diags.length === 0;
}

function showInspection() {
  const worldsNote = $('worlds-note'), graphNote = $('graph-note');
  $('worlds-section').hidden = false;
  $('graph-section').hidden = false;
  $('graph').replaceChildren();
  $('world-input').textContent = '';
  $('world-output').textContent = '';
  $('world-output-title').textContent = state.kind === 'core' ? 'fused output: core module' : 'fused output';
  if (!inspectAvailable) {
    const msg = 'The bundled Meld guest does not export `inspect` yet, so worlds and the composition graph cannot be shown.';
    worldsNote.textContent = msg; worldsNote.hidden = false;
    graphNote.textContent = msg; graphNote.hidden = false;
    document.querySelector('#worlds-section .side-by-side').hidden = true;
    return;
  }
  worldsNote.hidden = true; graphNote.hidden = true;
  document.querySelector('#worlds-section .side-by-side').hidden = false;
  try {
    const a = inspect(state.input);
    if (a.ok) {
      $('world-input').textContent = a.inspection.world;
      $('graph').append(drawGraph(a.inspection));
    } else {
      $('world-input').textContent = a.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n');
      graphNote.textContent = 'inspect failed on the input'; graphNote.hidden = false;
    }
    if (state.output && state.kind === 'core') {
      showCoreModule(state.output);
    } else if (state.output) {
      const b = inspect(state.output);
      $('world-output').textContent = b.ok ? b.inspection.world
        : b.diagnostics.map((d) => `${d.code}: ${d.message}`).join('\n');
    }
  } catch (e) {
    worldsNote.textContent = `inspect failed: ${e.message ?? e}`; worldsNote.hidden = false;
  }
}

// A core module has no world to inspect (it is embedded, encoded, in its
// `component-type` custom section): the page shows what the browser's own engine
// makes of the module instead, its imports and exports.
async function showCoreModule(bytes) {
  const pre = $('world-output');
  pre.textContent = 'compiling the core module…';
  let m;
  try {
    m = await WebAssembly.compile(bytes);
  } catch (e) {
    pre.textContent = `this browser cannot compile the core module: ${e.message ?? e}`;
    return;
  }
  if (state.output !== bytes) return; // fused again meanwhile
  const exports = WebAssembly.Module.exports(m);
  const imports = WebAssembly.Module.imports(m);
  const sections = ['component-type', 'name'].filter((n) => WebAssembly.Module.customSections(m, n).length);
  const lines = ['(core module, compiled by this browser: valid)', '', `exports (${exports.length}):`];
  for (const e of exports) lines.push(`  ${e.kind} ${e.name}`);
  lines.push('', `imports (${imports.length}):`);
  for (const i of imports) lines.push(`  ${i.kind} ${i.module} ${i.name}`);
  lines.push('', `custom sections: ${sections.join(', ') || 'none'}`);
  if (sections.includes('component-type')) {
    lines.push('  (component-type holds the world above, for `wasm-tools component new`)');
  }
  pre.textContent = lines.join('\n');
  pre.dataset.exports = JSON.stringify(exports.map((e) => e.name));
}

function doFuse() {
  if (!state.input) return;
  resetOutput();
  status('fusing…');
  // Let the status paint before the (synchronous) fuse blocks the thread.
  requestAnimationFrame(() => setTimeout(() => {
    const t0 = performance.now();
    let r;
    try {
      state.kind = chosenKind();
      r = fuseWithAvailable ? fuseWith(state.input, { output: state.kind }) : fuse(state.input);
    } catch (e) {
      status(`the guest trapped (a bug in Meld): ${e.message ?? e}`, true);
      return;
    }
    const ms = performance.now() - t0;
    $('result').hidden = false;
    $('input-size').textContent = size(state.input.length);
    $('fuse-time').textContent = `${ms.toFixed(1)} ms`;
    $('output-kind').textContent = KINDS[state.kind].label;
    if (r.ok) {
      state.output = r.output;
      $('output-size').textContent = size(r.output.length);
      showDiagnostics([]);
      state.downloadUrl = URL.createObjectURL(new Blob([r.output], { type: 'application/wasm' }));
      const dl = $('download');
      dl.href = state.downloadUrl;
      dl.download = state.name.replace(/\.wasm$/, '') + KINDS[state.kind].suffix;
      dl.textContent = KINDS[state.kind].download;
      dl.classList.remove('disabled');
      dl.removeAttribute('aria-disabled');
      // Run transpiles and runs components; the core module is left to the note.
      $('run').disabled = state.kind === 'core';
      $('run-note').hidden = state.kind !== 'core';
      status(`fused ${state.name} into a ${KINDS[state.kind].label} in ${ms.toFixed(1)} ms`);
    } else {
      $('output-size').textContent = '— (no output)';
      showDiagnostics(r.diagnostics);
      status(`${state.name} cannot be fused: ${r.diagnostics.length} diagnostic(s)`, true);
    }
    showInspection();
  }, 0));
}

function showRun(pre, r) {
  if (!r.runnable) {
    pre.textContent = `does not export wasi:cli/run (exports: ${r.exports.join(', ') || 'none'})`;
    return;
  }
  let text = r.stdout;
  if (r.stderr) text += `\n--- stderr ---\n${r.stderr}`;
  text += r.trap ? `\n--- trapped: ${r.trap}` : `\n--- exit status ${r.status}`;
  pre.textContent = text;
  pre.dataset.stdout = r.stdout;
}

async function doRun() {
  if (!state.output || state.kind !== 'component') return;
  $('run').disabled = true;
  $('run-section').hidden = false;
  $('run-input').textContent = 'transpiling with jco and running…';
  $('run-output').textContent = 'transpiling with jco and running…';
  $('run-verdict').textContent = '';
  $('run-verdict').className = 'verdict';
  status('running input and fused output…');
  try {
    const { runCommand } = await import('./run.js');
    const a = await runCommand(state.input, 'input');
    showRun($('run-input'), a);
    const b = await runCommand(state.output, 'fused');
    showRun($('run-output'), b);
    if (a.runnable && b.runnable) {
      const same = a.stdout === b.stdout && a.stderr === b.stderr && a.status === b.status && a.trap === b.trap;
      $('run-verdict').textContent = same ? 'same output' : 'outputs differ';
      $('run-verdict').className = `verdict ${same ? 'same' : 'differ'}`;
      status(same ? 'input and fused output printed the same' : 'input and fused output differ', !same);
    } else {
      status('this component does not export wasi:cli/run, so it cannot be run here');
    }
  } catch (e) {
    status(`run failed: ${e.message ?? e}`, true);
    console.error(e);
  } finally {
    $('run').disabled = !state.output || state.kind !== 'component';
  }
}

for (const b of document.querySelectorAll('button.example')) {
  b.addEventListener('click', () => loadExample(b.dataset.example));
}
$('file').addEventListener('change', (e) => { if (e.target.files[0]) loadFile(e.target.files[0]); });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const f = e.dataTransfer.files[0];
  if (f) loadFile(f);
});
$('fuse').addEventListener('click', doFuse);
for (const radio of document.querySelectorAll('input[name="output"]')) {
  if (radio.value === 'core' && !fuseWithAvailable) {
    radio.disabled = true;
    radio.parentElement.classList.add('disabled');
    radio.parentElement.title = 'the bundled Meld guest does not export fuse-with yet';
  }
  radio.addEventListener('change', () => {
    if (state.output) {
      resetOutput();
      status(`output: ${KINDS[chosenKind()].label}; press Fuse`);
    } else {
      $('download').textContent = KINDS[chosenKind()].download;
    }
  });
}
$('run').addEventListener('click', doRun);
document.body.dataset.ready = 'true';
status('ready: choose or drop a component, or pick an example');
