// Browser test of the live dashboard in real headless Chromium.
//
//   node web/tests/browser.mjs [path/to/orderflow] [--screenshot FILE]
//
// The binary comes from the argument or $ORDERFLOW_BIN (default: target/debug/orderflow);
// Chromium from $CHROMIUM (default /usr/bin/chromium). The test writes JSON files in the seed's
// schema into a temporary folder, runs `orderflow serve --json-dir TMP --port 0`, opens the
// page, checks that every pane drew real data and that a rewritten file arrives live. Then it
// generates a small recording with `orderflow synth`, replays it with `orderflow run`, checks
// the panes fill live from the processed data, and saves a screenshot (default
// docs/screenshot.png).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const screenshotPath = resolve(option('--screenshot') ?? join(root, 'docs', 'screenshot.png'));
const binary = resolve(args[0] ?? process.env.ORDERFLOW_BIN ?? join(root, 'target', 'debug', 'orderflow'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const BARS = 360;
const WINDOW = 60_000;
const START = Date.UTC(2025, 0, 15, 6, 0);

let passed = 0;
function check(condition, what, detail = '') {
  if (!condition) throw new Error(`check failed: ${what} ${detail}`);
  passed += 1;
  console.log(`ok ${passed} - ${what}`);
}

// ---- Realistic data in the seed's schema -------------------------------------------------

function makeData(seed = 7) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;
  const bars = [];
  const metrics = [];
  let price = 42150;
  let obi = 0;
  let cvd = 0;
  let drift = 0;
  for (let i = 0; i < BARS; i++) {
    drift = 0.92 * drift + gauss() * 1.5;
    const open = price;
    const path = [open];
    for (let k = 0; k < 12; k++) path.push(path.at(-1) + drift / 4 + gauss() * 9);
    const close = path.at(-1);
    price = close;
    const volume = round(Math.abs(gauss()) * 14 + 3 + Math.abs(close - open) / 6, 4);
    bars.push([START + i * WINDOW, round(open, 1), round(Math.max(...path), 1), round(Math.min(...path), 1), round(close, 1), volume]);
    const obiPath = [obi];
    for (let k = 0; k < 8; k++) obiPath.push(Math.max(-0.95, Math.min(0.95, 0.8 * obiPath.at(-1) + gauss() * 0.16 + drift / 40)));
    const cvdPath = [cvd];
    for (let k = 0; k < 8; k++) cvdPath.push(cvdPath.at(-1) + gauss() * 1.6 + (close - open) / 25);
    metrics.push([
      START + i * WINDOW,
      round(obiPath[0], 4), round(Math.max(...obiPath), 4), round(Math.min(...obiPath), 4), round(obiPath.at(-1), 4),
      round(cvdPath[0], 4), round(Math.max(...cvdPath), 4), round(Math.min(...cvdPath), 4), round(cvdPath.at(-1), 4),
    ]);
    obi = obiPath.at(-1);
    cvd = cvdPath.at(-1);
  }
  return { bars, metrics, depth: makeDepth(price, rand) };
}

function makeDepth(mid, rand) {
  const level = (p, i) => [Math.round(p * 10) / 10, Math.round((0.2 + rand() * 2.5 + i * 0.08 + (rand() < 0.08 ? 6 : 0)) * 1e4) / 1e4];
  const bids = [];
  const asks = [];
  let bid = Math.floor(mid * 10) / 10 - 0.1;
  let ask = bid + 0.2;
  for (let i = 0; i < 50; i++) {
    bids.push(level(bid, i));
    asks.push(level(ask, i));
    bid -= 0.1 + Math.floor(rand() * 4) * 0.1;
    ask += 0.1 + Math.floor(rand() * 4) * 0.1;
  }
  return { bids, asks };
}

/** Atomic, like the `process` command: temporary file, then rename. */
function writeJson(dir, name, value) {
  const tmp = join(dir, `.${name}.tmp`);
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, join(dir, name));
}

function writeAll(dir, data) {
  writeJson(dir, 'ohlc_data.json', data.bars);
  writeJson(dir, 'metrics_data.json', data.metrics);
  writeJson(dir, 'depth_data.json', data.depth);
}

// ---- The server ----------------------------------------------------------------------------

function startServer(args) {
  const child = spawn(binary, [...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const url = new Promise((resolveUrl, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within 20 s; stderr:\n${stderr}`)), 20_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = stdout.match(/listening on (http:\/\/\S+)/);
      if (match) { clearTimeout(timer); resolveUrl(match[1]); }
    });
    child.on('error', (error) => { clearTimeout(timer); reject(new Error(`cannot start ${binary}: ${error.message}`)); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`orderflow exited with ${code}; stderr:\n${stderr}`)); });
  });
  return { child, url, stderr: () => stderr };
}

// ---- Checks in the page --------------------------------------------------------------------

/** Per pane of the time chart (grouped by vertical position) and the depth chart: pixels
 *  that differ from the background, so "drawn" means real marks, not an empty canvas. */
function paintedPixels() {
  const background = [11, 15, 22];
  const painted = (canvas) => {
    const ctx = canvas.getContext('2d');
    if (!ctx || !canvas.width || !canvas.height) return 0;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 16) {
      if (data[i + 3] > 0 && Math.abs(data[i] - background[0]) + Math.abs(data[i + 1] - background[1]) + Math.abs(data[i + 2] - background[2]) > 60) count++;
    }
    return count;
  };
  const panes = new Map();
  for (const canvas of document.querySelectorAll('#timeline canvas')) {
    const rect = canvas.getBoundingClientRect();
    if (rect.width < 300 || rect.height < 40) continue; // price/time axes, not the plot
    const top = Math.round(rect.top);
    panes.set(top, (panes.get(top) ?? 0) + painted(canvas));
  }
  return { panes: [...panes.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n), depth: painted(document.getElementById('depth-canvas')) };
}

/** Pixels of the price pane in the heatmap's hues (teal bids, warm asks) that neither the
 *  background nor the candles have. */
function heatmapPixels() {
  let count = 0;
  for (const canvas of document.querySelectorAll('#timeline canvas')) {
    const rect = canvas.getBoundingClientRect();
    if (rect.width < 300 || rect.height < 200) continue;
    const ctx = canvas.getContext('2d');
    if (!ctx) continue;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < data.length; i += 16) {
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      const bid = g > 60 && b > 60 && r < g - 30; // teal to cyan
      const ask = r > 90 && r > g + 40 && b < 120; // maroon to orange
      if ((bid || ask) && !(r === 38 && g === 166 && b === 154) && !(r === 239 && g === 83 && b === 80)) count += 1;
    }
  }
  return count;
}

async function main() {
  const jsonDir = mkdtempSync(join(tmpdir(), 'orderflow-browser-'));
  const data = makeData();
  writeAll(jsonDir, data);
  const server = startServer(['serve', '--json-dir', jsonDir]);
  let browser;
  try {
    const url = await server.url;
    check(/^http:\/\/127\.0\.0\.1:\d+$/.test(url), `server prints its bound address (${url})`);

    browser = await launchBrowser();
    const { page, problems } = await openPage(browser);

    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction((n) => window.__orderflow?.counts().candles === n && window.__orderflow.connection() === 'live', BARS, { timeout: 15_000 });
    const counts = await page.evaluate(() => window.__orderflow.counts());
    check(counts.candles === BARS && counts.volume === BARS, 'price pane holds every bar (candles and volume)', JSON.stringify(counts));
    check(counts.obi === BARS && counts.cvd === BARS, 'OBI and CVD panes hold every metric bar', JSON.stringify(counts));
    check(counts.depthBids === 50 && counts.depthAsks === 50, 'depth chart drew 50 levels per side', JSON.stringify(counts));

    await page.waitForTimeout(300); // one animation frame or two for the canvases
    const pixels = await page.evaluate(paintedPixels);
    check(pixels.panes.length === 3, 'the time chart has three panes', JSON.stringify(pixels));
    pixels.panes.forEach((n, i) => check(n > 300, `pane ${i} (${['price', 'OBI', 'CVD'][i]}) has drawn data`, `${n} painted pixels`));
    check(pixels.depth > 300, 'depth canvas has drawn data', `${pixels.depth} painted pixels`);
    const legend = await page.textContent('#legend');
    check(/O\s*\d/.test(legend.replace(/\s+/g, ' ')) && /OBI/.test(legend), 'legend shows the newest bar', legend.trim().slice(0, 80));
    const statusText = await page.textContent('.topbar');
    check(/JSON files/.test(statusText) && /live/.test(statusText), 'status line shows the source and the live connection', statusText.replace(/\s+/g, ' ').trim());

    // Live: a new bar, its metrics and a new depth written as a `process` run would.
    const nextTs = START + BARS * WINDOW;
    const last = data.bars.at(-1);
    const newBar = [nextTs, last[4], last[4] + 42.5, last[4] - 8.1, last[4] + 37.3, 55.5];
    data.bars.push(newBar);
    const lastMetric = data.metrics.at(-1);
    data.metrics.push([nextTs, lastMetric[4], 0.6, lastMetric[4] - 0.05, 0.55, lastMetric[8], lastMetric[8] + 30, lastMetric[8] - 1, lastMetric[8] + 28]);
    let s = 11;
    data.depth = makeDepth(newBar[4], () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31));
    writeAll(jsonDir, data);
    await page.waitForFunction((ts) => window.__orderflow.lastBarTs() === ts, nextTs, { timeout: 5_000 });
    const after = await page.evaluate(() => window.__orderflow.counts());
    check(after.candles === BARS + 1 && after.obi === BARS + 1 && after.cvd === BARS + 1, 'a bar written to the files arrives live in every pane', JSON.stringify(after));
    const updates = await page.evaluate(() => window.__orderflow.debug.updates);
    check(updates >= 1, 'it came as an `update` event, not a reload', `${updates} updates`);

    // A reload restores the whole state from the `snapshot` event.
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction((n) => window.__orderflow?.counts().candles === n, BARS + 1, { timeout: 10_000 });
    check(true, 'a reload restores every bar from the snapshot');
    await page.waitForTimeout(600);

    const servePicture = join(jsonDir, 'serve.png');
    await page.screenshot({ path: servePicture });
    const size = statSync(servePicture).size;
    check(size > 20_000 && size < 300_000, 'the serve page renders to a screenshot', `${size} bytes`);

    check(problems.length === 0, 'no console errors, page errors or failed requests', problems.join('\n'));
  } finally {
    await browser?.close();
    await stopServer(server);
    rmSync(jsonDir, { recursive: true, force: true });
  }
}

function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that records console errors, page errors and failed requests into `problems`. */
async function openPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 }, deviceScaleFactor: 1 });
  const problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`); });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // The push stream is cut when the page closes; anything else failing is a problem.
    if (!request.url().endsWith('/api/stream')) problems.push(`request failed: ${request.url()}`);
  });
  return { page, problems };
}

/** Ctrl-C, as a user would; checks the server stops within 5 s. */
async function stopServer(server) {
  server.child.kill('SIGINT');
  const exited = await new Promise((done) => {
    if (server.child.exitCode !== null) return done(true);
    const timer = setTimeout(() => done(false), 5000);
    server.child.on('exit', () => { clearTimeout(timer); done(true); });
  });
  if (!exited) server.child.kill('SIGKILL');
  check(exited, 'server shuts down on Ctrl-C');
}

// ---- `run` on a generated recording --------------------------------------------------------

const RUN_MINUTES = 90;

/** `orderflow synth` writes a small recording; `orderflow run` replays it while the page
 *  watches: the panes fill from real processed data, updates arrive live, the run ends done. */
async function runScenario() {
  const dataDir = mkdtempSync(join(tmpdir(), 'orderflow-run-'));
  const synth = spawnSync(binary, ['synth', '--out', dataDir, '--start', '2025-01-15T10:00:00Z', '--hours', String(RUN_MINUTES / 60), '--seed', '3'], { encoding: 'utf8' });
  check(synth.status === 0, 'orderflow synth writes a recording', synth.stderr);
  const server = startServer(['run', 'BTC-USDT', '2025-01-15', '2025-01-15', '--data-dir', dataDir, '--speed', '900', '--emit-ms', '200']);
  let browser;
  try {
    const url = await server.url;
    browser = await launchBrowser();
    const { page, problems } = await openPage(browser);
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__orderflow?.counts().candles > 0, null, { timeout: 15_000 });
    const early = await page.evaluate(() => window.__orderflow.counts());
    check(early.candles < RUN_MINUTES, 'the page shows the run while it is processed', JSON.stringify(early));
    // The heatmap (SPEC 7): drawn behind the candles, and changing while the run streams.
    await page.waitForFunction(() => window.__orderflow.heatmap().cells > 0 && window.__orderflow.heatmap().draws > 0, null, { timeout: 15_000 });
    const heatEarly = await page.evaluate(() => window.__orderflow.heatmap());
    check(heatEarly.zOrder === 'bottom', 'the heatmap is drawn under the candles', JSON.stringify(heatEarly));
    check(heatEarly.cells > 50, 'the heatmap has cells', JSON.stringify(heatEarly));
    const heatPixels = await page.evaluate(heatmapPixels);
    check(heatPixels > 500, 'the heatmap colours the price pane', `${heatPixels} heatmap-coloured pixels`);
    await page.waitForFunction((before) => {
      const now = window.__orderflow.heatmap();
      return now.version > before.version && now.lastColumnTs > before.lastColumnTs;
    }, heatEarly, { timeout: 15_000 });
    const heatLater = await page.evaluate(() => window.__orderflow.heatmap());
    check(true, 'the heatmap grows while the run streams', `${heatEarly.lastColumnTs} → ${heatLater.lastColumnTs}`);
    await page.waitForFunction((n) => window.__orderflow.counts().candles > n, early.candles, { timeout: 15_000 });
    check(true, 'new bars arrive live while the recording is replayed');
    await page.waitForFunction((n) => window.__orderflow.counts().candles === n && /done/i.test(document.querySelector('.topbar').textContent), RUN_MINUTES, { timeout: 30_000 });
    const counts = await page.evaluate(() => window.__orderflow.counts());
    check(counts.volume === RUN_MINUTES && counts.obi === RUN_MINUTES && counts.cvd === RUN_MINUTES, 'every pane holds every bar of the run', JSON.stringify(counts));
    check(counts.depthBids > 0 && counts.depthAsks > 0, 'the depth chart shows the book', JSON.stringify(counts));
    const apiBars = await page.evaluate(async () => (await (await fetch('/api/bars')).json()).length);
    check(apiBars === RUN_MINUTES, 'the API serves the same bars', `${apiBars}`);
    const statusText = (await page.textContent('.topbar')).replace(/\s+/g, ' ');
    check(/BTC-USDT/.test(statusText), 'the status line names the instrument', statusText.trim());
    await page.waitForTimeout(600);
    const pixels = await page.evaluate(paintedPixels);
    pixels.panes.forEach((n, i) => check(n > 300, `run: pane ${i} (${['price', 'OBI', 'CVD'][i]}) has drawn data`, `${n} painted pixels`));
    check(pixels.depth > 300, 'run: depth canvas has drawn data', `${pixels.depth} painted pixels`);

    mkdirSync(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath });
    const size = statSync(screenshotPath).size;
    check(size > 20_000 && size < 300_000, `screenshot written to ${screenshotPath}`, `${size} bytes`);
    check(problems.length === 0, 'run: no console errors, page errors or failed requests', problems.join('\n'));
  } finally {
    await browser?.close();
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(runScenario).then(
  () => console.log(`${passed} passed, 0 failed`),
  (error) => {
    console.error(error.message);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  },
);
