// Volume profiles on the price axis: the visible range (right edge of the price pane) and the
// whole session (left edge), each split buy/sell, with its POC and its 70 % value area.

import { fontFamily } from '../theme.js';
import { mergeGrouped, valueArea } from './rows.js';
import { primitive, cellNumber } from './view.js';

const BUY = (a) => `rgba(38, 166, 154, ${a})`;
const SELL = (a) => `rgba(239, 83, 80, ${a})`;

export function createProfiles(view) {
  const drawn = { visible: null, session: null };
  /** The session's rows, until the data or the row size change. */
  let session = { version: -1, ticks: 0, tick: 0, rows: [] };
  const rowsOf = (times, ticks, whole) => {
    if (!whole) return mergeGrouped(times.map((ts) => view.grouped(ts, ticks)));
    const { version, tick } = view.flow;
    if (session.version !== version || session.ticks !== ticks || session.tick !== tick) {
      session = { version, ticks, tick, rows: mergeGrouped(times.map((ts) => view.grouped(ts, ticks))) };
    }
    return session.rows;
  };

  /** The profile of `times` drawn `side` ('right' or 'left') in `share` of the width. */
  const drawProfile = (ctx, size, times, side, share, alpha) => {
    const tick = view.flow.tick;
    if (!tick || !times.length) return null;
    const ticks = view.rowTicks();
    const rows = rowsOf(times, ticks, side === 'left');
    const area = valueArea(rows, 0.7);
    if (!area) return null;
    const maxVolume = Math.max(...rows.map((r) => r.buy + r.sell));
    const width = Math.min(220, size.width * share);
    ctx.font = `10px ${fontFamily}`;
    ctx.textBaseline = 'middle';
    const out = { rows: [], poc: rows[area.poc].price, vah: rows[area.high].price, val: rows[area.low].price };
    rows.forEach((row, i) => {
      const top = view.edgeY(row.k + ticks);
      const bottom = view.edgeY(row.k);
      if (top == null || bottom == null || bottom < 0 || top > size.height) return;
      const height = Math.max(1, bottom - top - (bottom - top > 3 ? 1 : 0));
      const total = row.buy + row.sell;
      const length = (total / maxVolume) * width;
      const sellLength = total > 0 ? (row.sell / total) * length : 0;
      const inside = i >= area.low && i <= area.high;
      const a = (inside ? 0.6 : 0.28) * alpha;
      // Right-anchored on the right edge, left-anchored on the left edge: sell then buy
      // outwards from the edge.
      const edge = side === 'right' ? size.width : 0;
      const dir = side === 'right' ? -1 : 1;
      ctx.fillStyle = SELL(a);
      ctx.fillRect(dir > 0 ? edge : edge - sellLength, top, sellLength, height);
      ctx.fillStyle = BUY(a);
      ctx.fillRect(dir > 0 ? edge + sellLength : edge - length, top, length - sellLength, height);
      let text = null;
      if (height >= 10) {
        text = cellNumber(total);
        ctx.fillStyle = 'rgba(230, 233, 239, 0.85)';
        ctx.textAlign = side === 'right' ? 'right' : 'left';
        ctx.fillText(text, edge + dir * (length + 3), top + height / 2);
      }
      if (i === area.poc) {
        ctx.strokeStyle = '#f0b429';
        ctx.lineWidth = 1.5;
        ctx.strokeRect(dir > 0 ? edge : edge - width, top, width, height);
      }
      out.rows.push({ price: row.price, buy: row.buy, sell: row.sell, text, poc: i === area.poc, valueArea: inside });
    });
    for (const [index, label] of [[area.high, 'VAH'], [area.low, 'VAL']]) {
      const y = label === 'VAH' ? view.edgeY(rows[index].k + ticks) : view.edgeY(rows[index].k);
      if (y == null) continue;
      ctx.strokeStyle = 'rgba(240, 180, 41, 0.6)';
      ctx.setLineDash([4, 3]);
      ctx.lineWidth = 1;
      ctx.beginPath();
      const x0 = side === 'right' ? size.width - width : 0;
      ctx.moveTo(x0, y);
      ctx.lineTo(x0 + width, y);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    return out;
  };

  const draw = (ctx, size) => {
    drawn.visible = drawProfile(ctx, size, view.visibleBars().map((b) => b.ts), 'right', 0.2, 1);
    drawn.session = view.settings.sessionProfile
      ? drawProfile(ctx, size, view.flow.sortedTimes, 'left', 0.1, 0.6)
      : null;
  };

  return { primitive: primitive(draw, 'top'), drawn };
}
