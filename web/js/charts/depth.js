// Depth chart: cumulative bid and ask size around the mid, price on the horizontal axis.
// Drawn on a canvas, so the price axis is truly linear (gaps in the book show as gaps).

import { colors, fontFamily } from '../theme.js';
import { compact, decimalsOf, niceTicks, tickDecimals } from '../format.js';

const PAD = { left: 10, right: 52, top: 16, bottom: 24 };

export function createDepthChart(canvas) {
  const ctx = canvas.getContext('2d');
  let depth = { bids: [], asks: [] };
  let hoverX = null;
  let drawn = { bids: 0, asks: 0 };

  const resize = () => {
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(canvas.clientWidth * dpr));
    canvas.height = Math.max(1, Math.round(canvas.clientHeight * dpr));
    draw();
  };
  new ResizeObserver(resize).observe(canvas);
  canvas.addEventListener('mousemove', (e) => { hoverX = e.offsetX; draw(); });
  canvas.addEventListener('mouseleave', () => { hoverX = null; draw(); });

  /** Cumulative steps from the best level outwards: [[price, cumulative size], ...]. */
  const cumulative = (levels) => {
    let sum = 0;
    return levels.map(([price, size]) => [price, (sum += size)]);
  };

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.width / dpr;
    const h = canvas.height / dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const bids = cumulative(depth.bids);
    const asks = cumulative(depth.asks);
    drawn = { bids: bids.length, asks: asks.length };
    if (!bids.length && !asks.length) {
      ctx.fillStyle = colors.text;
      ctx.font = `13px ${fontFamily}`;
      ctx.textAlign = 'center';
      ctx.fillText('No depth yet', w / 2, h / 2);
      return;
    }

    const bestBid = bids.length ? bids[0][0] : asks[0][0];
    const bestAsk = asks.length ? asks[0][0] : bids[0][0];
    const mid = (bestBid + bestAsk) / 2;
    const lowest = bids.length ? bids[bids.length - 1][0] : mid;
    const highest = asks.length ? asks[asks.length - 1][0] : mid;
    const half = Math.max(mid - lowest, highest - mid, mid * 1e-6);
    const xMin = mid - half;
    const xMax = mid + half;
    const yMax = Math.max(bids.at(-1)?.[1] ?? 0, asks.at(-1)?.[1] ?? 0) * 1.1 || 1;
    const plotW = w - PAD.left - PAD.right;
    const plotH = h - PAD.top - PAD.bottom;
    const x = (price) => PAD.left + ((price - xMin) / (xMax - xMin)) * plotW;
    const y = (size) => PAD.top + plotH - (size / yMax) * plotH;
    const decimals = decimalsOf([...depth.bids, ...depth.asks].slice(0, 40).map((l) => l[0]));

    // Grid and axes.
    ctx.font = `10px ${fontFamily}`;
    ctx.lineWidth = 1;
    ctx.strokeStyle = colors.grid;
    ctx.fillStyle = colors.text;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const size of niceTicks(0, yMax, 4)) {
      const yy = Math.round(y(size)) + 0.5;
      ctx.beginPath(); ctx.moveTo(PAD.left, yy); ctx.lineTo(PAD.left + plotW, yy); ctx.stroke();
      if (size > 0) ctx.fillText(compact(size), PAD.left + plotW + 6, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const priceTicks = niceTicks(xMin, xMax, Math.max(2, Math.floor(plotW / 70)));
    const priceDecimals = tickDecimals(priceTicks);
    for (const price of priceTicks) {
      const xx = Math.round(x(price)) + 0.5;
      ctx.beginPath(); ctx.moveTo(xx, PAD.top); ctx.lineTo(xx, PAD.top + plotH); ctx.stroke();
      const label = price.toFixed(priceDecimals);
      const half = ctx.measureText(label).width / 2;
      if (xx - half >= PAD.left && xx + half <= PAD.left + plotW) ctx.fillText(label, xx, PAD.top + plotH + 7);
    }

    // One side as a step area: from the best level outwards, stepping up at each level.
    const side = (points, color, fill, outward) => {
      if (!points.length) return;
      const edge = outward < 0 ? xMin : xMax;
      ctx.beginPath();
      ctx.moveTo(x(points[0][0]), y(0));
      let previous = 0;
      for (const [price, cum] of points) {
        ctx.lineTo(x(price), y(previous));
        ctx.lineTo(x(price), y(cum));
        previous = cum;
      }
      ctx.lineTo(x(edge), y(previous));
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.6;
      ctx.stroke();
      ctx.lineTo(x(edge), y(0));
      ctx.closePath();
      const gradient = ctx.createLinearGradient(0, PAD.top, 0, PAD.top + plotH);
      gradient.addColorStop(0, fill[0]);
      gradient.addColorStop(1, fill[1]);
      ctx.fillStyle = gradient;
      ctx.fill();
    };
    side(bids, colors.up, ['rgba(38, 166, 154, 0.38)', 'rgba(38, 166, 154, 0.04)'], -1);
    side(asks, colors.down, ['rgba(239, 83, 80, 0.38)', 'rgba(239, 83, 80, 0.04)'], +1);

    // Mid line.
    ctx.setLineDash([3, 3]);
    ctx.strokeStyle = 'rgba(201, 209, 220, 0.45)';
    ctx.lineWidth = 1;
    const xm = Math.round(x(mid)) + 0.5;
    ctx.beginPath(); ctx.moveTo(xm, PAD.top); ctx.lineTo(xm, PAD.top + plotH); ctx.stroke();
    ctx.setLineDash([]);

    if (hoverX != null && hoverX >= PAD.left && hoverX <= PAD.left + plotW) {
      const price = xMin + ((hoverX - PAD.left) / plotW) * (xMax - xMin);
      const onBids = price < mid;
      const points = onBids ? bids : asks;
      // Size one could trade from the best level to this price.
      let cum = 0;
      for (const [p, c] of points) if (onBids ? p >= price : p <= price) cum = c;
      ctx.strokeStyle = colors.crosshair;
      ctx.setLineDash([4, 4]);
      ctx.beginPath(); ctx.moveTo(hoverX, PAD.top); ctx.lineTo(hoverX, PAD.top + plotH); ctx.stroke();
      ctx.setLineDash([]);
      const text = `${price.toFixed(decimals)}  ·  ${compact(cum)} ${onBids ? 'bid' : 'ask'}`;
      ctx.font = `11px ${fontFamily}`;
      const tw = ctx.measureText(text).width + 14;
      const tx = Math.min(Math.max(hoverX - tw / 2, PAD.left), PAD.left + plotW - tw);
      ctx.fillStyle = '#263043';
      ctx.fillRect(tx, PAD.top, tw, 20);
      ctx.fillStyle = onBids ? colors.up : colors.down;
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      ctx.fillText(text, tx + 7, PAD.top + 10);
    }
  }

  return {
    set(next) {
      depth = next;
      draw();
    },
    counts: () => drawn,
    mid() {
      const bid = depth.bids[0]?.[0];
      const ask = depth.asks[0]?.[0];
      return bid != null && ask != null ? (bid + ask) / 2 : null;
    },
  };
}
