// Number and time formatting. Times from the server are UTC ms; charts use UTC seconds.

const pad = (n) => String(n).padStart(2, '0');

/** `2025-01-15 12:34` (UTC), with seconds when asked. */
export function utc(ms, seconds = false) {
  if (ms == null || !Number.isFinite(ms)) return '—';
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` + (seconds ? `:${pad(d.getUTCSeconds())}` : '');
  return `${date} ${time}`;
}

/** Chart time (UTC seconds) of a server timestamp (ms). */
export const chartTime = (ms) => Math.floor(ms / 1000);

export function fixed(x, decimals) {
  return x == null || !Number.isFinite(x) ? '—' : x.toFixed(decimals);
}

/** 1.2k, 3.4M: for rates and volumes. */
export function compact(x) {
  if (x == null || !Number.isFinite(x)) return '—';
  const abs = Math.abs(x);
  if (abs === 0) return '0';
  if (abs >= 1e9) return (x / 1e9).toFixed(2) + 'B';
  if (abs >= 1e6) return (x / 1e6).toFixed(2) + 'M';
  if (abs >= 1e4) return (x / 1e3).toFixed(1) + 'k';
  if (abs >= 100) return x.toFixed(0);
  return x.toFixed(abs >= 1 ? 2 : 4);
}

/** Decimals needed to show these prices as they were recorded (at most 8). */
export function decimalsOf(values) {
  let decimals = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    for (let d = decimals; d <= 8; d++) {
      if (Math.abs(Math.round(v * 10 ** d) - v * 10 ** d) < 1e-6) {
        decimals = d;
        break;
      }
      if (d === 8) decimals = 8;
    }
  }
  return decimals;
}

/** Round tick values in [min, max]: steps of 1, 2 or 5 times a power of ten, about `count` of them. */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) return [];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Decimals to print the ticks of `niceTicks` without noise. */
export function tickDecimals(ticks) {
  return ticks.length > 1 ? Math.max(0, -Math.floor(Math.log10(ticks[1] - ticks[0]))) : 0;
}
