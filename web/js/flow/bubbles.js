// Big prints as bubbles on the price pane: at the print's time within its bar and its VWAP,
// area ∝ size, green for buys and red for sells; only prints at or above the size filter.

import { chartTime } from '../format.js';
import { primitive } from './view.js';

const MAX_RADIUS = 26;
const MIN_RADIUS = 3;

export function createBubbles(view) {
  const drawn = { count: 0 };
  const draw = (ctx) => {
    drawn.count = 0;
    const prints = [...view.flow.prints.values()];
    if (!prints.length) return;
    const ts = view.chart.timeScale();
    const range = ts.getVisibleRange();
    if (!range) return;
    const from = Number(range.from) * 1000 - view.flow.windowMs;
    const to = Number(range.to) * 1000 + view.flow.windowMs;
    const spacing = view.barSpacing();
    const visible = prints.filter((p) => p[0] >= from && p[0] <= to);
    const largest = Math.max(...visible.map((p) => p[3]), 0);
    for (const [time, side, vwap, size] of visible) {
      const windowStart = Math.floor(time / view.flow.windowMs) * view.flow.windowMs;
      const x0 = ts.timeToCoordinate(chartTime(windowStart));
      const y = view.series.priceToCoordinate(vwap);
      if (x0 == null || y == null) continue;
      const x = x0 + ((time - windowStart) / view.flow.windowMs - 0.5) * spacing * 0.9;
      const radius = Math.max(MIN_RADIUS, MAX_RADIUS * Math.sqrt(size / largest));
      ctx.beginPath();
      ctx.arc(x, y, radius, 0, Math.PI * 2);
      ctx.fillStyle = side === 'buy' ? 'rgba(38, 166, 154, 0.35)' : 'rgba(239, 83, 80, 0.35)';
      ctx.fill();
      ctx.lineWidth = 1.2;
      ctx.strokeStyle = side === 'buy' ? 'rgba(90, 230, 210, 0.9)' : 'rgba(255, 120, 118, 0.9)';
      ctx.stroke();
      drawn.count += 1;
    }
  };
  return { primitive: primitive(draw, 'top'), drawn };
}
