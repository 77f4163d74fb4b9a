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
        const label = cellLabel(ctx, row, width - 4, height);
        if (label) {
          const y = top + height / 2;
          ctx.font = `${label.size}px ${fontFamily}`;
          const gap = label.spaced ? 5 : 1 + ctx.measureText('×').width / 2;
          ctx.textAlign = 'right';
          ctx.fillStyle = marks[i].sell ? '#ffd7d6' : '#e6e9ef';
          ctx.fillText(label.sell, bar.x - gap, y);
          ctx.textAlign = 'center';
          ctx.fillStyle = 'rgba(230, 233, 239, 0.5)';
          ctx.fillText('×', bar.x, y);
          ctx.textAlign = 'left';
          ctx.fillStyle = marks[i].buy ? '#d4fff6' : '#e6e9ef';
          ctx.fillText(label.buy, bar.x + gap, y);
        }
        const fits = !!label;
        const sellText = label?.sell;
        const buyText = label?.buy;
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

/** The text of a cell, `sell × buy`, in the largest of a few forms that fits `width` × `height`
 *  (the sell half right-aligned against the ×, the buy half left-aligned); null if none does. */
function cellLabel(ctx, row, width, height) {
  const sell = cellNumber(row.sell);
  const buy = cellNumber(row.buy);
  const bare = (text) => text.replace(/^(-?)0\./, '$1.');
  for (const [size, spaced, s, b] of [
    [10, true, sell, buy],
    [10, false, sell, buy],
    [9, false, sell, buy],
    [9, false, bare(sell), bare(buy)],
  ]) {
    if (height < size) continue;
    ctx.font = `${size}px ${fontFamily}`;
    const half = Math.max(ctx.measureText(s).width, ctx.measureText(b).width);
    const gap = spaced ? 5 : 1 + ctx.measureText('×').width / 2;
    if (2 * (half + gap) <= width) return { size, spaced, sell: s, buy: b };
  }
  return null;
}
