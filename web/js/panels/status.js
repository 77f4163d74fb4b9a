// Status line: instrument, range, progress, replay clock, rows/s and the connection state.

import { compact, utc } from '../format.js';

export function createStatusLine() {
  const el = (id) => document.getElementById(id);
  const instrument = el('instrument');
  const range = el('range');
  const progress = el('progress');
  const progressFill = el('progress-fill');
  const clock = el('clock');
  const rate = el('rate');
  const message = el('message');
  const pill = el('connection');
  const pillText = el('connection-text');
  let connection = 'connecting';
  let phase = 'starting';

  const renderConnection = () => {
    // Once the run is over, the state of the run matters more than that of the socket.
    const over = ['done', 'failed', 'interrupted'].includes(phase);
    const shown = connection === 'live' && over ? phase : connection;
    pill.className = `pill ${shown}`;
    pillText.textContent = shown;
    pill.dataset.state = shown;
  };

  return {
    setConnection(state) {
      connection = state;
      renderConnection();
    },
    /** @param status the server's status object; bars sorted rows, for a range when the run has none. */
    setStatus(status, firstTs, lastTs) {
      if (!status) return;
      phase = status.phase;
      instrument.textContent = status.instrument || 'JSON files';
      const [start, end] = status.start || status.end ? [status.start, status.end] : [firstTs, lastTs];
      range.textContent = start == null ? '—' : `${utc(start)} → ${utc(end)} UTC`;
      const pct = Math.max(0, Math.min(1, status.progress || 0));
      progressFill.style.width = `${(status.phase === 'done' ? 1 : pct) * 100}%`;
      // Only a run that read its whole range is at 100 %: a stopped or failed one says so.
      progress.textContent = status.phase === 'done'
        ? '100%'
        : status.phase === 'interrupted' || status.phase === 'failed'
          ? `${status.phase} at ${(pct * 100).toFixed(1)}%`
          : pct > 0 ? `${(pct * 100).toFixed(1)}%` : status.phase;
      clock.textContent = status.replay_ts == null ? '—' : utc(status.replay_ts, true);
      rate.textContent = status.rows_per_sec > 0 ? compact(status.rows_per_sec) : '—';
      // Under `serve` the files say nothing of progress or speed: keep the line short.
      const fromFiles = !status.instrument && !status.rows_read;
      progress.closest('.stat').hidden = fromFiles;
      rate.closest('.stat').hidden = fromFiles;
      rate.title = `${status.rows_read} rows read`;
      message.textContent = status.message || '';
      message.title = status.message || '';
      message.classList.toggle('error', status.phase === 'failed' || status.phase === 'interrupted');
      renderConnection();
    },
    /** A command the server refused. */
    setError(text) {
      message.textContent = text;
      message.title = text;
      message.classList.add('error');
    },
  };
}
