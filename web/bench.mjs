#!/usr/bin/env node
// Times fuse() of each bundled example in Node (the JS package) and in the
// playground page in Chromium (performance.now() around fuse, median of N).
// Needs a build (web/build.sh).   node web/bench.mjs [N]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { fuse } from '@meld/fuser';
import { serve } from './serve.mjs';
import { examplesDir } from './test/helpers.mjs';

const runs = Number(process.argv[2] ?? 15);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const { server, url } = await serve({ port: 0 });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  console.log(`| example | input bytes | output bytes | Node ${process.version} (median) | Chromium (median) |`);
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const ex of ['calc', 'chain']) {
    const bytes = readFileSync(join(examplesDir, `${ex}.wasm`));
    const times = [];
    let out;
    for (let i = 0; i < runs + 2; i++) {
      const t0 = performance.now();
      out = fuse(bytes);
      if (i >= 2) times.push(performance.now() - t0);
    }
    const page_ms = await page.evaluate(async ({ ex, runs }) => {
      const { fuse } = await import('./lib/index.js');
      const b = new Uint8Array(await (await fetch(`./examples/${ex}.wasm`)).arrayBuffer());
      const ts = [];
      for (let i = 0; i < runs + 2; i++) {
        const t0 = performance.now();
        fuse(b);
        if (i >= 2) ts.push(performance.now() - t0);
      }
      ts.sort((a, b) => a - b);
      return ts[Math.floor(ts.length / 2)];
    }, { ex, runs });
    console.log(`| ${ex} | ${bytes.length} | ${out.output.length} | ${median(times).toFixed(1)} ms | ${page_ms.toFixed(1)} ms |`);
  }
} finally {
  await browser.close();
  server.close();
}
