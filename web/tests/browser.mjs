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
const PANES = ['price', 'delta', 'OBI', 'CVD'];
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
    check(pixels.panes.length === 4, 'the time chart has four panes', JSON.stringify(pixels));
    // No footprint_data.json here: the delta row (pane 1) has nothing to show.
    [0, 2, 3].forEach((i) => check(pixels.panes[i] > 300, `pane ${i} (${PANES[i]}) has drawn data`, `${pixels.panes[i]} painted pixels`));
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
/** Polls `predicate(arg)` in the page until it is true, awaiting it: Playwright's
 *  `waitForFunction` takes the promise of an async predicate for a true value at once. */
async function waitUntil(page, predicate, arg, { timeout }, what) {
  const until = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(predicate, arg)) return;
    if (Date.now() > until) throw new Error(`waited ${timeout} ms in vain: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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
    const apiSignals = await page.evaluate(async () => (await (await fetch('/api/signals')).json()));
    check(apiSignals.length > 0, 'run computes signals on the closed bars', `${apiSignals.length}`);
    await page.waitForFunction((n) => window.__orderflow.signals() === n, apiSignals.length, { timeout: 6_000 });
    const items = await page.locator('#signal-list li').count();
    check(items === Math.min(apiSignals.length, 500), 'the signal list shows every signal', `${items}`);
    await page.locator('#signal-list li').last().click();
    const oldest = Math.floor(apiSignals[0].ts / 1000);
    await page.waitForFunction((t) => { const r = window.__orderflow.visibleRange(); return r && r.from <= t && t <= r.to; }, oldest, { timeout: 3_000 });
    check(true, 'a click on a signal scrolls the charts to its bar');
    await page.waitForTimeout(600);
    const pixels = await page.evaluate(paintedPixels);
    pixels.panes.forEach((n, i) => check(n > 300, `run: pane ${i} (${PANES[i]}) has drawn data`, `${n} painted pixels`));
    check(pixels.depth > 300, 'run: depth canvas has drawn data', `${pixels.depth} painted pixels`);

    mkdirSync(dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath });
    const size = statSync(screenshotPath).size;
    check(size > 20_000 && size < 300_000, `screenshot written to ${screenshotPath}`, `${size} bytes`);
    check(problems.length === 0, 'run: no console errors, page errors or failed requests', problems.join('\n'));

    await footprintScenario(page, problems);
  } finally {
    await browser?.close();
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---- Trades at price: zoomed in, the footprint and the profiles ---------------------------

/** Volume of footprint rows [price, buy, sell] grouped as the page groups them: buckets of
 *  `ticks` ticks, keyed by their lowest price in ticks. */
function groupedRows(rows, tick, ticks) {
  const out = new Map();
  for (const [price, buy, sell] of rows) {
    const k = Math.floor(Math.round(price / tick) / ticks) * ticks;
    const row = out.get(k) ?? { buy: 0, sell: 0 };
    row.buy += buy;
    row.sell += sell;
    out.set(k, row);
  }
  return out;
}

const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

async function footprintScenario(page, problems) {
  const before = await page.evaluate(() => window.__orderflow.flow());
  check(before.mode === 'candles' && before.deltaBars === RUN_MINUTES, 'candles and the delta row when zoomed out', JSON.stringify({ mode: before.mode, deltaBars: before.deltaBars }));
  check(before.profile && before.profile.rows.length > 0, 'the visible-range profile is drawn', `${before.profile?.rows.length} rows`);
  // Zoom in with the mouse wheel over the price pane, as a trader does, until the bars are
  // wide enough for the footprint.
  const box = await page.locator('#timeline').boundingBox();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.25);
  for (let i = 0; i < 40; i++) {
    if ((await page.evaluate(() => window.__orderflow.flow().mode)) === 'footprint') break;
    await page.mouse.wheel(0, -300);
    await page.waitForTimeout(60);
  }
  await page.waitForTimeout(400);
  const drawn = await page.evaluate(() => window.__orderflow.flow());
  check(drawn.mode === 'footprint', 'zoomed in, the footprint takes over from the candles', drawn.mode);
  const withText = drawn.footprint.cells.filter((c) => c.text);
  check(drawn.footprint.bars >= 2 && withText.length >= 10, 'footprint cells are drawn with their numbers', `${drawn.footprint.bars} bars, ${withText.length} cells with text, rows of ${drawn.footprint.rowTicks} ticks`);
  const api = new Map(await page.evaluate(async () => (await fetch('/api/footprint')).json()));
  let compared = 0;
  const ticks = drawn.footprint.rowTicks;
  for (const cell of drawn.footprint.cells) {
    const rows = groupedRows(api.get(cell.ts) ?? [], drawn.tick, ticks);
    const k = Math.round(cell.price / drawn.tick);
    const want = rows.get(k);
    if (!want || !close(want.buy, cell.buy) || !close(want.sell, cell.sell)) {
      throw new Error(`check failed: cell ${JSON.stringify(cell)} vs /api/footprint ${JSON.stringify(want)}`);
    }
    compared += 1;
  }
  const cellsPerBar = new Map();
  for (const cell of drawn.footprint.cells) cellsPerBar.set(cell.ts, (cellsPerBar.get(cell.ts) ?? 0) + 1);
  for (const [ts, n] of cellsPerBar) {
    if (n !== groupedRows(api.get(ts), drawn.tick, ticks).size) throw new Error(`check failed: bar ${ts} drew ${n} rows`);
  }
  check(compared > 0, 'every cell holds the numbers of /api/footprint, every row of each bar drawn', `${compared} cells`);
  // The text drawn is those numbers, rounded for display (`.25` is 0.25, `1.2k` is 1200).
  const shown = (text) => {
    const m = /^(-?\d*\.?\d+(?:e-?\d+)?)([kM]?)$/.exec(text.trim());
    return m ? Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1) : NaN;
  };
  for (const cell of withText) {
    const [sell, buy] = cell.text.split('×').map(shown);
    const near = (a, b) => Math.abs(a - b) <= 0.051 * Math.abs(b) + 1e-12;
    if (!near(sell, cell.sell) || !near(buy, cell.buy)) throw new Error(`check failed: cell text ${cell.text} vs ${cell.sell} × ${cell.buy}`);
  }
  check(true, 'the text of each cell is its sell × buy, rounded for display', withText.slice(0, 3).map((c) => c.text).join(' | '));
  const pocs = drawn.footprint.cells.filter((c) => c.poc);
  check(pocs.length === cellsPerBar.size, 'one POC outlined per bar', `${pocs.length}`);
  for (const poc of pocs) {
    const largest = Math.max(...drawn.footprint.cells.filter((c) => c.ts === poc.ts).map((c) => c.buy + c.sell));
    if (!close(poc.buy + poc.sell, largest)) throw new Error(`check failed: POC ${JSON.stringify(poc)} is not the largest row`);
  }
  const profile = drawn.profile;
  const profileVolume = profile.rows.reduce((s, r) => s + r.buy + r.sell, 0);
  const cellVolume = drawn.footprint.cells.reduce((s, c) => s + c.buy + c.sell, 0);
  check(profile.rows.some((r) => r.text) && close(profileVolume, cellVolume), 'the visible profile is drawn with numbers and sums the visible footprint', `${profileVolume} vs ${cellVolume}`);
  const pocRow = profile.rows.find((r) => r.poc);
  check(pocRow && profile.rows.every((r) => r.buy + r.sell <= pocRow.buy + pocRow.sell + 1e-12), 'the profile POC is its largest row', JSON.stringify(pocRow));
  const inside = profile.rows.filter((r) => r.valueArea).reduce((s, r) => s + r.buy + r.sell, 0);
  check(inside >= 0.7 * profileVolume - 1e-9, 'the value area holds at least 70 % of the volume', `${inside} of ${profileVolume}`);
  const sessionVolume = drawn.session.rows.reduce((s, r) => s + r.buy + r.sell, 0);
  let apiVolume = 0;
  for (const rows of api.values()) for (const [, buy, sell] of rows) apiVolume += buy + sell;
  check(drawn.session.rows.length > 0 && sessionVolume <= apiVolume + 1e-6, 'the session profile is drawn', `${drawn.session.rows.length} rows`);
  check(drawn.minSize > 0, 'big prints are filtered at the largest 0.5 %', `min size ${drawn.minSize}`);
  const picture = join(root, 'target', 'footprint.png');
  mkdirSync(dirname(picture), { recursive: true });
  await page.screenshot({ path: picture });
  check(statSync(picture).size > 20_000, `footprint screenshot written to ${picture}`);
  check(problems.length === 0, 'footprint: no console errors, page errors or failed requests', problems.join('\n'));
}

// ---- The replay under control (SPEC 8) and the page at four screen sizes ---------------------

const SIZES = [[1920, 1080], [1280, 800], [1366, 768], [390, 844]];
const shotsDir = resolve(process.env.SCREENSHOT_DIR ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'screenshots'));

/** Overlapping or cut-off elements of the top bar, the replay bar and the legend. */
function layoutProblems() {
  const problems = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const rows = ['.topbar', '.rp-controls', '.replaybar', '.legend', '.rp-goto'];
  for (const selector of rows) {
    const parent = document.querySelector(selector);
    if (!parent || !visible(parent)) continue;
    const kids = [...parent.children].filter(visible);
    for (let i = 0; i < kids.length; i++) {
      for (let j = i + 1; j < kids.length; j++) {
        const a = kids[i].getBoundingClientRect();
        const b = kids[j].getBoundingClientRect();
        const overlap = Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
        if (overlap) problems.push(`${selector}: ${kids[i].id || kids[i].className} overlaps ${kids[j].id || kids[j].className}`);
      }
    }
  }
  for (const id of ['instrument', 'range', 'clock', 'rp-position', 'rp-state', 'legend-time', 'lg-c', 'best-bid']) {
    const el = document.getElementById(id);
    if (el && visible(el) && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== 'inline') problems.push(`#${id} is cut off`);
    if (el && visible(el) && el.getBoundingClientRect().right > window.innerWidth + 1) problems.push(`#${id} runs off the screen`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) problems.push(`the page is ${document.documentElement.scrollWidth} px wide`);
  const chart = document.getElementById('timeline').getBoundingClientRect();
  if (chart.height < 250 || chart.width < 300) problems.push(`the chart is ${chart.width}×${chart.height}`);
  return problems;
}

/** Zoomed in on bars of `tf` seconds, every footprint cell drawn holds the numbers of
 *  `/api/footprint?tf=` grouped as shown, every row of each bar, and the delta row has one bar
 *  per bar of `/api/bar_extras?tf=`. */
async function coarseFootprintFollows(page, tf) {
  // Over the newest bars (a few coarse bars fill only the right of the chart).
  await page.locator('#timeline').scrollIntoViewIfNeeded();
  const box = await page.locator('#timeline').boundingBox();
  await page.mouse.move(box.x + box.width * 0.85, box.y + box.height * 0.25);
  for (let i = 0; i < 40; i++) {
    if ((await page.evaluate(() => window.__orderflow.flow().mode)) === 'footprint') break;
    await page.mouse.wheel(0, -300);
    await page.waitForTimeout(60);
  }
  await page.waitForTimeout(400);
  const drawn = await page.evaluate(() => window.__orderflow.flow());
  check(drawn.mode === 'footprint' && drawn.timeframe === tf * 1000, `replay: zoomed in on ${tf}-second bars, the footprint is drawn at that timeframe`, `${drawn.mode}, ${drawn.timeframe} ms, ${drawn.spacing} px, tick ${drawn.tick}`);
  const [api, extras] = await page.evaluate(async (q) => Promise.all(
    ['/api/footprint', '/api/bar_extras'].map(async (path) => (await fetch(`${path}?tf=${q}`)).json()),
  ), tf);
  const footprints = new Map(api);
  const ticks = drawn.footprint.rowTicks;
  let compared = 0;
  for (const cell of drawn.footprint.cells) {
    if (cell.ts % (tf * 1000) !== 0) throw new Error(`check failed: cell ${JSON.stringify(cell)} is not at a ${tf}-second window`);
    const want = groupedRows(footprints.get(cell.ts) ?? [], drawn.tick, ticks).get(Math.round(cell.price / drawn.tick));
    if (!want || !close(want.buy, cell.buy) || !close(want.sell, cell.sell)) {
      throw new Error(`check failed: cell ${JSON.stringify(cell)} vs /api/footprint?tf=${tf} ${JSON.stringify(want)}`);
    }
    compared += 1;
  }
  const cellsPerBar = new Map();
  for (const cell of drawn.footprint.cells) cellsPerBar.set(cell.ts, (cellsPerBar.get(cell.ts) ?? 0) + 1);
  for (const [ts, n] of cellsPerBar) {
    if (n !== groupedRows(footprints.get(ts), drawn.tick, ticks).size) throw new Error(`check failed: ${tf}-second bar ${ts} drew ${n} rows`);
  }
  check(drawn.footprint.bars >= 2 && compared > 0, `replay: every footprint cell of the ${tf}-second bars holds the numbers of /api/footprint?tf=${tf}`, `${drawn.footprint.bars} bars, ${compared} cells`);
  check(drawn.deltaBars === extras.length && api.length === extras.length, `replay: the delta row has the ${tf}-second bars of /api/bar_extras?tf=${tf}`, `${drawn.deltaBars} vs ${extras.length}`);
  const profile = drawn.profile.rows.reduce((sum, r) => sum + r.buy + r.sell, 0);
  const visible = drawn.footprint.cells.reduce((sum, c) => sum + c.buy + c.sell, 0);
  check(close(profile, visible), `replay: the visible profile sums the ${tf}-second footprint cells`, `${profile} vs ${visible}`);
}

async function replayScenario() {
  const dataDir = mkdtempSync(join(tmpdir(), 'orderflow-replay-'));
  const synth = spawnSync(binary, ['synth', '--out', dataDir, '--start', '2025-01-15T10:00:00Z', '--hours', '2', '--seed', '4', '--book-interval-ms', '500', '--trades-per-minute', '300'], { encoding: 'utf8' });
  check(synth.status === 0, 'replay: orderflow synth writes a recording', synth.stderr);
  const start = Date.UTC(2025, 0, 15, 10, 0);
  const server = startServer(['run', 'BTC-USDT', '2025-01-15T10:00:00Z', '2025-01-15T12:00:00Z', '--data-dir', dataDir, '--paused', '--speed', '300', '--emit-ms', '100', '--tick-bars', '50']);
  let browser;
  let problems = [];
  try {
    const url = await server.url;
    browser = await launchBrowser();
    const opened = await openPage(browser);
    const { page } = opened;
    problems = opened.problems;
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__orderflow?.connection() === 'live' && !document.getElementById('replay-controls').hidden, null, { timeout: 15_000 });
    const status = () => page.evaluate(async () => (await fetch('/api/status')).json());
    let s = await status();
    check(s.playing === false && s.position === start, 'replay: --paused starts paused at START', JSON.stringify(s));
    check(/paused/.test(await page.textContent('#rp-state')), 'replay: the bar says paused');
    const apiBars = (query = '') => page.evaluate(async (q) => (await fetch(`/api/bars${q}`)).json(), query);
    /** The price pane shows exactly the API's bars (of the timeframe asked). */
    const chartsFollow = async (query, what) => {
      await waitUntil(page, async (q) => {
        const api = await (await fetch(`/api/bars${q}`)).json();
        const shown = window.__orderflow.shownBars();
        return window.__orderflow.counts().candles === api.length && JSON.stringify(shown) === JSON.stringify(api);
      }, query, { timeout: 10_000 }, `the charts follow ${what}`);
      const counts = await page.evaluate(() => window.__orderflow.counts());
      check(true, `replay: the charts follow ${what}`, JSON.stringify(counts));
    };

    /** The tick bars' card holds and draws exactly the API's bars. */
    const tradeBarsFollow = async (what) => {
      await waitUntil(page, async () => {
        const api = await (await fetch('/api/trade_bars')).json();
        const shown = window.__orderflow.tradeBars();
        return api.count > 0 && shown.count === api.count && shown.drawn === api.count
          && JSON.stringify(shown.last) === JSON.stringify(api.bars[api.bars.length - 1])
          && !document.getElementById('trade-bars-card').hidden;
      }, null, { timeout: 10_000 }, `the tick bars follow ${what}`);
      const shown = await page.evaluate(() => window.__orderflow.tradeBars());
      check(true, `replay: the tick bars follow ${what}`, `${shown.count} bars`);
    };

    await page.click('#rp-play');
    await page.waitForFunction(() => window.__orderflow.counts().candles >= 3, null, { timeout: 15_000 });
    s = await status();
    check(s.playing === true && s.speed === 300, 'replay: the play button plays at the speed chosen', JSON.stringify(s));
    await page.keyboard.press('Space');
    await page.waitForFunction(() => /paused/.test(document.getElementById('rp-state').textContent), null, { timeout: 5_000 });
    const paused = (await status()).position;
    await page.waitForTimeout(800);
    s = await status();
    check(s.position === paused && !s.playing, 'replay: space pauses, and the position stays', `${paused} → ${s.position}`);

    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((p) => Number(document.getElementById('replay-controls').dataset.position) > p, paused, { timeout: 5_000 });
    s = await status();
    check(s.position % 60_000 === 0 && s.position > paused && s.position - paused <= 60_000 && !s.playing, 'replay: → steps to the end of the bar window, paused', JSON.stringify(s));
    await chartsFollow('', 'a step');

    await page.fill('#rp-goto-input', '2025-01-15 11:30');
    await page.click('#rp-goto button');
    const goTo = Date.UTC(2025, 0, 15, 11, 30);
    await page.waitForFunction((t) => Number(document.getElementById('replay-controls').dataset.position) === t, goTo, { timeout: 30_000 });
    await chartsFollow('', '"go to" forward');
    await tradeBarsFollow('"go to" forward');
    const forward = (await page.evaluate(() => window.__orderflow.tradeBars())).count;
    const last = await page.evaluate(() => window.__orderflow.lastBarTs());
    check(last === goTo - 60_000, 'replay: after "go to" 11:30 the newest bar is 11:29', `${last}`);

    const back = Date.UTC(2025, 0, 15, 10, 45);
    await page.evaluate((t) => {
      const slider = document.getElementById('rp-slider');
      slider.value = String(t);
      slider.dispatchEvent(new Event('input'));
      slider.dispatchEvent(new Event('change'));
    }, back);
    await page.waitForFunction((t) => Number(document.getElementById('replay-controls').dataset.position) === t, back, { timeout: 15_000 });
    await chartsFollow('', 'a seek back with the slider');
    await tradeBarsFollow('a seek back with the slider');
    const backCount = (await page.evaluate(() => window.__orderflow.tradeBars())).count;
    const apiCount = (await page.evaluate(async () => (await fetch('/api/trade_bars?from=999999')).json())).count;
    check(backCount < forward, 'replay: a seek back leaves fewer tick bars', `${forward} → ${backCount} (the API: ${apiCount}, position ${(await status()).position})`);
    check((await apiBars()).length === 45, 'replay: after a seek back to 10:45 there are 45 one-minute bars');

    await page.selectOption('#tf', '300000');
    await chartsFollow('?tf=300', 'a switch to 5-minute bars');
    const fiveMinute = await page.evaluate(() => window.__orderflow.shownBars().map((bar) => bar[0]));
    check(fiveMinute.length === 9, 'replay: 45 minutes are 9 five-minute bars', JSON.stringify(fiveMinute));
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((t) => Number(document.getElementById('replay-controls').dataset.position) === t, back + 60_000, { timeout: 10_000 });
    await chartsFollow('?tf=300', 'a step on 5-minute bars');
    await coarseFootprintFollows(page, 300);
    await page.selectOption('#tf', '60000');
    await chartsFollow('', 'a switch back to 1-minute bars');

    mkdirSync(shotsDir, { recursive: true });
    for (const [width, height] of SIZES) {
      await page.setViewportSize({ width, height });
      await page.waitForTimeout(500);
      const found = await page.evaluate(layoutProblems);
      check(found.length === 0, `replay: at ${width}×${height} nothing overlaps, nothing is cut off, the chart is usable`, found.join('; '));
      const file = join(shotsDir, `replay-${width}x${height}.png`);
      await page.screenshot({ path: file, fullPage: width < 900 });
      check(statSync(file).size > 10_000, `replay: screenshot ${file}`);
    }
    check(problems.length === 0, 'replay: no console errors, page errors or failed requests', problems.join('\n'));
  } catch (error) {
    // What the server and the page said, to tell a slow machine from a stuck replay.
    const status = await fetch(`${await server.url}/api/status`).then((r) => r.text(), (e) => `(no status: ${e.message})`);
    error.message += `\nreplay status: ${status.slice(0, 600)}\npage problems: ${problems.join('; ') || 'none'}`
      + `\nserver stderr (last 3000 characters):\n${server.stderr().slice(-3000)}`;
    throw error;
  } finally {
    await browser?.close();
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(runScenario).then(replayScenario).then(
  () => console.log(`${passed} passed, 0 failed`),
  (error) => {
    console.error(error.message);
    console.log(`${passed} passed, 1 failed`);
    process.exit(1);
  },
);
