// Commit-to-page latency of `run --follow` (SPEC 10.1), measured in headless Chromium and on
// the API.
//
//   node web/tests/follow-latency.mjs [path/to/orderflow] [--seconds 20] [--journal wal|delete]
//
// A recorder (Python's sqlite3, a transaction of a book row and a trade every 100 ms, each row
// stamped with the wall clock when its transaction begins) appends to a new recording while
// `orderflow run --follow` follows it. The page's store and a poller of `/api/status` note
// when the status's `replay_ts` (the newest event processed) first reaches each row's stamp.
// A row's latency is that moment less its stamp: an upper bound of commit-to-page, as the
// stamp is taken before the commit. Prints the median, 99th percentile and maximum of both,
// and fails when a row took a second or more, or when the page does not show the gaps the
// recorder left in the seqId chain (the warning, and the band over the uncertain bars).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : fallback;
};
const seconds = Number(option('--seconds', '20'));
const journal = option('--journal', 'wal');
const binary = resolve(args[0] ?? process.env.ORDERFLOW_BIN ?? join(root, 'target', 'debug', 'orderflow'));
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

const RECORDER = `
import sqlite3, sys, time, json
path, seconds, journal = sys.argv[1], float(sys.argv[2]), sys.argv[3]
db = sqlite3.connect(path, timeout=5, isolation_level=None)
db.execute(f"PRAGMA journal_mode = {journal}")
db.executescript("""
CREATE TABLE book (id INTEGER PRIMARY KEY, instrument TEXT, action TEXT, bids TEXT, asks TEXT, timestamp INTEGER, seqId INTEGER, prevSeqId INTEGER);
CREATE TABLE trades (id INTEGER PRIMARY KEY, instrument TEXT, trade_id TEXT, price REAL, size REAL, side TEXT, timestamp INTEGER);
""")
stamps, failed, i = [], 0, 0
print("ready", flush=True)
end = time.time() + seconds
while time.time() < end:
    ts = int(time.time() * 1000)
    try:
        db.execute("BEGIN")
        # A snapshot every 100 rows; every 100th message from the 50th is lost (a gap): the
        # book is uncertain for half of the time.
        snapshot = i % 100 == 0
        prev = -1 if snapshot else (i - 1 if i % 100 == 50 else i)
        db.execute("INSERT INTO book (instrument, action, bids, asks, timestamp, seqId, prevSeqId) VALUES ('BTC-USDT', ?, ?, ?, ?, ?, ?)",
                   ("snapshot" if snapshot else "update", '[["100","1"]]', '[["101","1"]]', ts, i + 1, prev))
        db.execute("INSERT INTO trades (instrument, trade_id, price, size, side, timestamp) VALUES ('BTC-USDT', ?, 100.5, 0.1, 'buy', ?)", (str(i), ts))
        db.execute("COMMIT")
        stamps.append(ts)
        i += 1
    except sqlite3.OperationalError:
        failed += 1
        db.execute("ROLLBACK")
    time.sleep(0.1)
print(json.dumps({"stamps": stamps, "failed": failed}), flush=True)
`;

function lines(child, onLine) {
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, at));
      buffer = buffer.slice(at + 1);
    }
  });
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { rows: sorted.length, median: at(0.5), p99: at(0.99), max: sorted.at(-1) };
}

/** For each stamp, the first moment a `[when, replayTs]` sighting reached it, less the stamp. */
function latencies(stamps, sightings) {
  const out = [];
  let k = 0;
  for (const stamp of stamps) {
    while (k < sightings.length && sightings[k][1] < stamp) k += 1;
    if (k === sightings.length) break;
    out.push(sightings[k][0] - stamp);
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'orderflow-latency-'));
const day = new Date().toISOString().slice(0, 10);
const file = join(dir, `BTC-USDT-${day}.db`);
let run;
let browser;
try {
  const recorder = spawn('python3', ['-c', RECORDER, file, String(seconds), journal], { stdio: ['ignore', 'pipe', 'inherit'] });
  let result = null;
  const ready = new Promise((resolveReady) => lines(recorder, (line) => {
    if (line === 'ready') resolveReady();
    else result = JSON.parse(line);
  }));
  const recorded = new Promise((resolveDone) => recorder.on('exit', resolveDone));
  await ready;
  run = spawn(binary, ['run', 'BTC-USDT', day, '--follow', '--data-dir', dir, '--port', '0', '--window-seconds', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise((resolveUrl) => lines(run, (line) => {
    const match = line.match(/listening on (http:\/\/\S+)/);
    if (match) resolveUrl(match[1]);
  }));
  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.__orderflow?.store);
  await page.evaluate(() => {
    window.__sightings = [];
    const note = () => {
      const ts = window.__orderflow.store.status?.replay_ts;
      const last = window.__sightings.at(-1);
      if (ts != null && (!last || ts > last[1])) window.__sightings.push([Date.now(), ts]);
    };
    window.__orderflow.store.addEventListener('update', note);
    window.__orderflow.store.addEventListener('reset', note);
  });
  const apiSightings = [];
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const status = await (await fetch(`${url}/api/status`)).json();
      const last = apiSightings.at(-1);
      if (status.replay_ts != null && (!last || status.replay_ts > last[1])) apiSightings.push([Date.now(), status.replay_ts]);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await recorded;
  await new Promise((r) => setTimeout(r, 1500));
  polling = false;
  await poll;
  const pageSightings = await page.evaluate(() => window.__sightings);
  // The first rows were read when the run started (after the page loaded): leave out the
  // first two seconds.
  const stamps = result.stamps.filter((ts) => ts > result.stamps[0] + 2000);
  const onPage = stats(latencies(stamps, pageSightings));
  const onApi = stats(latencies(stamps, apiSightings));
  console.log(`journal ${journal}, ${seconds} s, ${result.stamps.length} commits, ${result.failed} failed`);
  console.log(`commit -> page (Chromium): ${JSON.stringify(onPage)} ms`);
  console.log(`commit -> /api/status:     ${JSON.stringify(onApi)} ms`);
  // The integrity of the book on the page: the warning, and the band over the uncertain bars.
  const shown = await page.evaluate(() => ({
    warning: document.getElementById('integrity').hidden ? null : document.getElementById('integrity').textContent,
    band: window.__orderflow.counts().uncertainBars,
    gaps: window.__orderflow.store.status.integrity.gaps,
  }));
  const gaps = result.stamps.filter((_, i) => i % 100 === 50).length;
  console.log(`integrity on the page: ${JSON.stringify(shown)} (${gaps} gaps recorded)`);
  if (shown.gaps !== gaps || !shown.warning?.includes(`${gaps} gap`) || !(shown.band > 0)) {
    throw new Error(`the page does not show the ${gaps} gaps: ${JSON.stringify(shown)}`);
  }
  if (result.failed > 0) throw new Error(`${result.failed} commits failed`);
  if (onPage.rows < stamps.length * 0.9) throw new Error(`the page saw only ${onPage.rows} of ${stamps.length} rows`);
  if (onPage.max >= 1000) throw new Error(`a row took ${onPage.max} ms to reach the page`);
} finally {
  await browser?.close();
  run?.kill('SIGINT');
  rmSync(dir, { recursive: true, force: true });
}
