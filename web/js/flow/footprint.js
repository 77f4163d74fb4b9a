// The footprint: per bar and per price row, sell × buy, each cell shaded by its delta, the
// point of control outlined, diagonal imbalances highlighted and stacked ones marked. It takes
// over from the candles when the bars are wide enough for numbers.

import { fontFamily } from '../theme.js';
import { pocIndex, imbalances } from './rows.js';
import { primitive, cellNumber } from './view.js';

/** Least bar spacing (CSS px) at which the footprint replaces the candles. */
export const FOOTPRINT_MIN_SPACING = 56;

const BUY = [38, 166, 154];
const SELL = [239, 83, 80];
const rgba = ([r, g, b], a) => `rgba(${r}, ${g}, ${b}, ${a})`;

export function createFootprint(view, onMode) {
  let mode = 'candles';
  /** What the last frame drew, for the browser test and the console. */
  const drawn = { cells: [], bars: 0, rowTicks: 1 };

  const draw = (ctx) => {
    drawn.cells = [];
    drawn.bars = 0;
    const spacing = view.barSpacing();
    const wanted = spacing >= FOOTPRINT_MIN_SPACING && view.flow.tick ? 'footprint' : 'candles';
    if (wanted !== mode) {
      mode = wanted;
      // Not inside the drawing: the candles' options change after this frame.
      queueMicrotask(() => onMode(mode));
    }
    if (mode !== 'footprint') return;
    const ticks = view.rowTicks();
    drawn.rowTicks = ticks;
    const ratio = view.settings.ratio;
    const width = Math.max(8, spacing * 0.9);
    const bars = view.visibleBars().map(({ ts, x }) => ({
      ts,
      x,
      rows: view.grouped(ts, ticks),
    }));
    let maxDelta = 0;
    for (const bar of bars) for (const row of bar.rows) maxDelta = Math.max(maxDelta, Math.abs(row.buy - row.sell));
    const fontSize = 10;
    ctx.font = `${fontSize}px ${fontFamily}`;
    ctx.textBaseline = 'middle';
    for (const bar of bars) {
      const left = bar.x - width / 2;
      const poc = pocIndex(bar.rows);
      const { marks, stacks } = imbalances(bar.rows, ticks, ratio);
      drawn.bars += 1;
      bar.rows.forEach((row, i) => {
        const top = view.edgeY(row.k + ticks);
        const bottom = view.edgeY(row.k);
        if (top == null || bottom == null) return;
        const height = Math.max(1, bottom - top);
        const delta = row.buy - row.sell;
        const strength = maxDelta > 0 ? Math.abs(delta) / maxDelta : 0;
        ctx.fillStyle = rgba(delta >= 0 ? BUY : SELL, 0.1 + 0.55 * strength);
        ctx.fillRect(left, top, width, height - (height > 4 ? 1 : 0));
        if (marks[i].buy) {
          ctx.fillStyle = rgba(BUY, 0.55);
          ctx.fillRect(left + width / 2, top, width / 2, height - 1);
        }
        if (marks[i].sell) {
          ctx.fillStyle = rgba(SELL, 0.55);
          ctx.fillRect(left, top, width / 2, height - 1);
        }
        const sellText = cellNumber(row.sell);
        const buyText = cellNumber(row.buy);
        const fits = height >= fontSize && ctx.measureText(`${sellText} × ${buyText}`).width <= width - 4;
        if (fits) {
          const y = top + height / 2;
          ctx.textAlign = 'right';
          ctx.fillStyle = marks[i].sell ? '#ffd7d6' : '#e6e9ef';
          ctx.fillText(sellText, bar.x - 5, y);
          ctx.textAlign = 'center';
          ctx.fillStyle = 'rgba(230, 233, 239, 0.5)';
          ctx.fillText('×', bar.x, y);
          ctx.textAlign = 'left';
          ctx.fillStyle = marks[i].buy ? '#d4fff6' : '#e6e9ef';
          ctx.fillText(buyText, bar.x + 5, y);
        }
        drawn.cells.push({
          ts: bar.ts,
          price: row.price,
          sell: row.sell,
          buy: row.buy,
          text: fits ? `${sellText} × ${buyText}` : null,
          poc: i === poc,
          buyImbalance: marks[i].buy,
          sellImbalance: marks[i].sell,
        });
        if (i === poc) {
          ctx.strokeStyle = '#f0b429';
          ctx.lineWidth = 1.5;
          ctx.strokeRect(left + 0.75, top + 0.75, width - 1.5, height - 2);
        }
      });
      for (const stack of stacks) {
        const top = view.edgeY(bar.rows[stack.to].k + ticks);
        const bottom = view.edgeY(bar.rows[stack.from].k);
        if (top == null || bottom == null) continue;
        ctx.fillStyle = stack.side === 'buy' ? rgba(BUY, 1) : rgba(SELL, 1);
        const x = stack.side === 'buy' ? left + width + 1 : left - 4;
        ctx.fillRect(x, top, 3, bottom - top);
      }
    }
  };

  const prim = primitive(draw, 'top');
  return { primitive: prim, mode: () => mode, drawn };
}
