// The integrity warning of the status line (SPEC 10.2): gaps, resets and crossed books so far,
// and whether the book is uncertain now; hidden while nothing was found.

import { utc } from '../format.js';

export function createIntegrityWarning(el) {
  return {
    set(integrity) {
      const found = integrity || {};
      const spans = found.uncertain || [];
      const open = spans.length && spans[spans.length - 1].to == null ? spans[spans.length - 1] : null;
      const parts = [];
      if (found.gaps) parts.push(`${found.gaps} gap${found.gaps === 1 ? '' : 's'}`);
      if (found.resets) parts.push(`${found.resets} reset${found.resets === 1 ? '' : 's'}`);
      if (found.crossed) parts.push(`${found.crossed} crossed`);
      el.hidden = parts.length === 0 && !open;
      el.classList.toggle('uncertain', Boolean(open));
      el.textContent = `⚠ ${parts.join(' · ')}${open ? ` · book uncertain since ${utc(open.from, true)}` : ''}`;
      const examples = (found.examples || []).map((e) => `${e.kind}: ${e.file} row ${e.row_id}`);
      el.title = [
        'Book integrity: a gap in the seqId chain leaves the book wrong until the next snapshot (shaded on the chart); a crossed book has best bid >= best ask.',
        `${found.heartbeats || 0} heartbeats.`,
        ...examples,
      ].join('\n');
    },
  };
}
