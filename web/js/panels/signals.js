// Signals (SPEC 9.2): markers on their bars in the price pane and a list beside the charts;
// a click on a list entry scrolls the charts to its bar. Polls /api/signals.

import { chartTime, utc, fixed } from '../format.js';

const LWC = window.LightweightCharts;
const POLL_MS = 2000;

const LOOK = {
  obi_cross_up: { position: 'belowBar', shape: 'arrowUp', color: '#4fc3f7', text: 'OBI↑' },
  obi_cross_down: { position: 'aboveBar', shape: 'arrowDown', color: '#4fc3f7', text: 'OBI↓' },
  cvd_divergence_bull: { position: 'belowBar', shape: 'arrowUp', color: '#f0b429', text: 'div+' },
  cvd_divergence_bear: { position: 'aboveBar', shape: 'arrowDown', color: '#f0b429', text: 'div−' },
  stacked_imbalance_buy: { position: 'belowBar', shape: 'square', color: '#26a69a', text: 'stack' },
  stacked_imbalance_sell: { position: 'aboveBar', shape: 'square', color: '#ef5350', text: 'stack' },
  big_print: { position: 'aboveBar', shape: 'circle', color: '#ce93d8', text: 'print' },
};
const OTHER = { position: 'aboveBar', shape: 'circle', color: '#b0bec5' };

/**
 * @param chart the timeline chart; @param series the candles the markers sit on;
 * @param list the <ol> of the list; @param count the element that shows how many;
 * @param windowMs () => the bar window in ms (a print's marker goes on its bar).
 */
export function createSignals(chart, series, list, count, windowMs) {
  const markers = LWC.createSeriesMarkers ? LWC.createSeriesMarkers(series, []) : null;
  let shown = '';
  let signals = [];

  const barOf = (ts) => {
    const w = windowMs() || 60_000;
    return Math.floor(ts / w) * w;
  };

  function jump(ts) {
    const w = windowMs() || 60_000;
    const bar = barOf(ts);
    chart.timeScale().setVisibleRange({ from: chartTime(bar - 40 * w), to: chartTime(bar + 40 * w) });
  }

  function render() {
    const sorted = [...signals].sort((a, b) => a.ts - b.ts);
    markers?.setMarkers(sorted.map((s) => {
      const look = LOOK[s.name] ?? { ...OTHER, text: s.name };
      return { time: chartTime(barOf(s.ts)), position: look.position, shape: look.shape, color: look.color, text: look.text };
    }));
    count.textContent = String(signals.length);
    list.replaceChildren(...sorted.slice().reverse().slice(0, 500).map((s) => {
      const item = document.createElement('li');
      item.className = 'signal';
      item.dataset.ts = String(s.ts);
      item.title = s.detail == null ? s.name : JSON.stringify(s.detail);
      const look = LOOK[s.name] ?? OTHER;
      item.innerHTML = '<span class="dot"></span><span class="name"></span><span class="mono time"></span><span class="mono value"></span>';
      item.querySelector('.dot').style.background = look.color;
      item.querySelector('.name').textContent = s.name;
      item.querySelector('.time').textContent = utc(s.ts, true).slice(5);
      item.querySelector('.value').textContent = s.price == null ? '' : fixed(s.price, 2);
      item.addEventListener('click', () => jump(s.ts));
      return item;
    }));
  }

  async function poll() {
    try {
      const response = await fetch('/api/signals', { cache: 'no-store' });
      if (response.ok) {
        const text = await response.text();
        if (text !== shown) {
          shown = text;
          signals = JSON.parse(text);
          render();
        }
      }
    } catch {
      // The server is away (the connection line says so); try again later.
    }
    setTimeout(poll, POLL_MS);
  }
  poll();

  return { count: () => signals.length, markers: () => (markers ? signals.length : 0), jump };
}
