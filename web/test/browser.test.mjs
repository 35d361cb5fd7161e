// The playground in Debian's Chromium, driven by Playwright, against the page
// served by serve.mjs on localhost.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { serve } from '../serve.mjs';
import {
  badInput, badInputCode, COMPONENT_PREAMBLE, CORE_PREAMBLE, examplesDir, meldHost, meldHostFuse,
} from './helpers.mjs';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let server, url, browser;

before(async () => {
  ({ server, url } = await serve({ port: 0 }));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A fresh page on the playground; every request it makes is recorded. */
async function openPlayground() {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, context, requests, errors };
}

function assertOffline(requests) {
  const foreign = requests.filter((u) => !u.startsWith(url) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'the page fetched something not served by the build');
}

async function loadExampleAndFuse(page, name) {
  await page.click(`button.example[data-example="${name}"]`);
  await page.waitForFunction((n) => document.getElementById('input-name').textContent.startsWith(n), `${name}.wasm`);
  await page.click('#fuse');
  await page.waitForSelector('#download:not(.disabled)', { timeout: 60_000 });
}

test('calc example: fuse, download equals meld-host fuse, run input and output', async (t) => {
  const { page, context, requests, errors } = await openPlayground();
  await loadExampleAndFuse(page, 'calc');
  const input = join(examplesDir, 'calc.wasm');
  const expected = meldHostFuse(input);

  assert.match(await page.textContent('#input-size'), new RegExp(`^${readFileSync(input).length.toLocaleString('en')} bytes`));
  assert.match(await page.textContent('#output-size'), new RegExp(`^${expected.length.toLocaleString('en')} bytes`));
  assert.match(await page.textContent('#fuse-time'), /^\d+(\.\d+)? ms$/);
  assert.equal(await page.textContent('#output-kind'), 'component');
  assert.equal(await page.isVisible('#run-note'), false);
  assert.equal(await page.isVisible('#diagnostics-box'), false);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'calc.fused.wasm');
  const got = readFileSync(await download.path());
  assert.ok(got.equals(Buffer.from(expected)), `downloaded ${got.length} bytes differ from meld-host's ${expected.length}`);

  // Worlds and graph: shown when the guest has `inspect`, else a message.
  const hasInspect = await page.evaluate(async () => (await import('./lib/index.js')).inspectAvailable);
  if (hasInspect) {
    const wi = await page.textContent('#world-input');
    assert.match(wi, /world/);
    assert.equal(await page.textContent('#world-output'), wi, 'the fused world differs from the input world');
    assert.ok(await page.locator('#graph svg g.node.component').count() >= 1);
  } else {
    assert.match(await page.textContent('#worlds-note'), /does not export `inspect`/);
    assert.ok(await page.isVisible('#graph-note'));
  }

  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('run-verdict').textContent !== '' ||
    /run failed/.test(document.getElementById('status').textContent), null, { timeout: 120_000 });
  assert.equal(await page.textContent('#run-verdict'), 'same output', await page.textContent('#status'));
  const outIn = await page.getAttribute('#run-input', 'data-stdout');
  const outFused = await page.getAttribute('#run-output', 'data-stdout');
  assert.ok(outIn.length > 0, 'the input printed nothing');
  assert.equal(outFused, outIn);
  const native = execFileSync(meldHost, ['run', input], { encoding: 'utf8' });
  assert.equal(outIn, native, 'stdout in the page differs from meld-host run');

  // Fuse time in the page, median of several runs, for the record (never asserted).
  const ms = await page.evaluate(async () => {
    const { fuse } = await import('./lib/index.js');
    const bytes = new Uint8Array(await (await fetch('./examples/calc.wasm')).arrayBuffer());
    const times = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      fuse(bytes);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return times[4];
  });
  t.diagnostic(`fuse calc.wasm in Chromium: median ${ms.toFixed(1)} ms of 9`);

  assert.deepEqual(errors, []);
  assertOffline(requests);
  await context.close();
});

test('chain example: download equals meld-host fuse', async () => {
  const { page, context, errors } = await openPlayground();
  await loadExampleAndFuse(page, 'chain');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const got = readFileSync(await download.path());
  assert.ok(got.equals(Buffer.from(meldHostFuse(join(examplesDir, 'chain.wasm')))));
  assert.deepEqual(errors, []);
  await context.close();
});

test('core output: calc fuses to a core module that Chromium validates; Run is off, with a note', async () => {
  const { page, context, requests, errors } = await openPlayground();
  assert.equal(await page.isChecked('input[name="output"][value="component"]'), true, 'component is the default');
  await page.check('input[name="output"][value="core"]');
  await loadExampleAndFuse(page, 'calc');
  const input = join(examplesDir, 'calc.wasm');
  const expected = meldHostFuse(input, 'core');

  assert.match(await page.textContent('#output-size'), new RegExp(`^${expected.length.toLocaleString('en')} bytes`));
  assert.match(await page.textContent('#output-kind'), /^core module/);
  assert.match(await page.textContent('#status'), /into a core module/);
  assert.equal(await page.textContent('#download'), 'Download core module');
  assert.equal(await page.isVisible('#diagnostics-box'), false);
  assert.ok(await page.isDisabled('#run'), 'Run is for components');
  assert.ok(await page.isVisible('#run-note'));
  assert.match(await page.textContent('#run-note'), /Run is for components.*cm32p2/s);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'calc.core.wasm');
  const got = readFileSync(await download.path());
  assert.ok(got.equals(Buffer.from(expected)), `downloaded ${got.length} bytes differ from meld-host --emit core's ${expected.length}`);

  // Chromium's engine (it has multi-memory) on the bytes the page offers.
  const facts = await page.evaluate(async (href) => {
    const bytes = new Uint8Array(await (await fetch(href)).arrayBuffer());
    const hex = (b) => [...b.subarray(0, 8)].map((x) => x.toString(16).padStart(2, '0')).join('');
    const valid = WebAssembly.validate(bytes);
    const m = await WebAssembly.compile(bytes);
    return {
      valid, preamble: hex(bytes),
      exports: WebAssembly.Module.exports(m), imports: WebAssembly.Module.imports(m),
      componentType: WebAssembly.Module.customSections(m, 'component-type').map((b) => hex(new Uint8Array(b))),
    };
  }, await page.getAttribute('#download', 'href'));
  assert.equal(facts.valid, true, 'WebAssembly.validate rejects the core module');
  assert.equal(facts.preamble, CORE_PREAMBLE);
  const kindOf = new Map(facts.exports.map((e) => [e.name, e.kind]));
  assert.equal(kindOf.get('cm32p2_memory'), 'memory');
  for (const f of ['cm32p2_realloc', 'cm32p2_initialize', 'cm32p2|wasi:cli/run@0.2|run']) assert.equal(kindOf.get(f), 'function', f);
  assert.ok(facts.imports.length >= 1);
  for (const i of facts.imports) assert.ok(i.module === 'cm32p2' || i.module.startsWith('cm32p2|'), i.module);
  assert.deepEqual(facts.componentType, [COMPONENT_PREAMBLE]);

  // The output panel lists what the browser compiled.
  await page.waitForFunction(() => document.getElementById('world-output').dataset.exports);
  assert.match(await page.textContent('#world-output-title'), /core module/);
  const panel = await page.textContent('#world-output');
  assert.match(panel, /valid/);
  assert.match(panel, /function cm32p2\|wasi:cli\/run@0\.2\|run/);
  assert.match(panel, /component-type/);

  // Back to component output: the core result goes, Fuse gives the component again.
  await page.check('input[name="output"][value="component"]');
  assert.ok(await page.isVisible('#download.disabled'));
  assert.ok(await page.isHidden('#run-note'));
  await page.click('#fuse');
  await page.waitForSelector('#download:not(.disabled)', { timeout: 60_000 });
  assert.equal(await page.textContent('#output-kind'), 'component');
  assert.ok(await page.isEnabled('#run'));
  const [again] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(again.suggestedFilename(), 'calc.fused.wasm');
  const fused = readFileSync(await again.path());
  assert.equal(fused.subarray(0, 8).toString('hex'), COMPONENT_PREAMBLE);
  assert.ok(fused.equals(Buffer.from(meldHostFuse(input))));

  assert.deepEqual(errors, []);
  assertOffline(requests);
  await context.close();
});

test('a bad file shows its diagnostic and offers no download', async () => {
  const { page, context, requests, errors } = await openPlayground();
  await page.setInputFiles('#file', { name: 'bad.wasm', mimeType: 'application/wasm', buffer: Buffer.from(badInput) });
  await page.waitForFunction(() => document.getElementById('input-name').textContent.startsWith('bad.wasm'));
  await page.click('#fuse');
  await page.waitForSelector('#diagnostics tr.diagnostic');
  assert.equal(await page.textContent('#diagnostics tr.diagnostic td.severity'), 'error');
  assert.equal(await page.textContent('#diagnostics tr.diagnostic td.code'), badInputCode);
  assert.match(await page.textContent('#diagnostics tr.diagnostic td.message'), /not WebAssembly/);
  assert.match(await page.textContent('#diagnostics tr.diagnostic td.offset'), /^0x0 /);
  assert.ok(await page.isVisible('#download.disabled'));
  assert.ok(await page.isDisabled('#run'));
  assert.match(await page.textContent('#output-size'), /no output/);
  assert.equal(await page.textContent('#output-kind'), 'component');

  // Core output: the same diagnostic, no download, no note about Run.
  await page.check('input[name="output"][value="core"]');
  await page.click('#fuse');
  await page.waitForFunction(() => /^core module/.test(document.getElementById('output-kind').textContent) &&
    document.querySelector('#diagnostics tr.diagnostic'));
  assert.equal(await page.textContent('#diagnostics tr.diagnostic td.code'), badInputCode);
  assert.match(await page.textContent('#diagnostics tr.diagnostic td.offset'), /^0x0 /);
  assert.ok(await page.isVisible('#download.disabled'));
  assert.ok(await page.isHidden('#run-note'));
  assert.match(await page.textContent('#output-size'), /no output/);
  assert.deepEqual(errors, []);
  assertOffline(requests);
  await context.close();
});
