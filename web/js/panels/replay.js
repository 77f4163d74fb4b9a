// The replay bar (SPEC 8): play/pause, step one bar, speed, a time slider over the whole range
// that shows how far the recordings have been read, "go to" a UTC date/time, and the keyboard:
// space plays or pauses, → steps one bar, ← goes one bar back, ↑/↓ change the speed.
// Commands go to `POST /api/replay`; what the bar shows comes from the status alone.

import { utc } from '../format.js';

const SPEEDS = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 1000, 'max'];

const speedLabel = (speed) => (speed === 'max' ? 'max' : `${speed}×`);

// Icons as SVG: symbol glyphs such as ⏸ are missing from many fonts.
const icon = (path) => `<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true"><path fill="currentColor" d="${path}"/></svg>`;
const ICONS = {
  play: icon('M4 2.5v11l9-5.5z'),
  pause: icon('M3.5 2.5h3v11h-3zM9.5 2.5h3v11h-3z'),
  step: icon('M2.5 2.5v11l7-5.5zM11 2.5h2.5v11H11z'),
};

/** A UTC date/time as typed (`2025-01-15 12:30`, `2025-01-15T12:30:05Z`, a date) in ms, or null. */
export function parseUtc(text) {
  const t = text.trim().replace(' ', 'T');
  if (!t) return null;
  const withZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(t) || /^\d{4}-\d\d-\d\d$/.test(t) ? t : `${t}Z`;
  const ms = Date.parse(withZone);
  return Number.isFinite(ms) ? ms : null;
}

export function createReplayBar({ onError } = {}) {
  const el = (id) => document.getElementById(id);
  const bar = el('replay-controls');
  const play = el('rp-play');
  const step = el('rp-step');
  const speed = el('rp-speed');
  const slider = el('rp-slider');
  const position = el('rp-position');
  const state = el('rp-state');
  const gotoForm = el('rp-goto');
  const gotoInput = el('rp-goto-input');
  let status = null;
  let dragging = false;

  for (const s of SPEEDS) speed.add(new Option(speedLabel(s), String(s)));
  play.innerHTML = ICONS.play;
  step.innerHTML = ICONS.step;

  const send = async (command) => {
    try {
      const answer = await fetch('/api/replay', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(command),
      });
      const body = await answer.json();
      if (!answer.ok) throw new Error(body.error || answer.statusText);
      render(body);
    } catch (error) {
      onError?.(String(error.message || error));
    }
  };

  const windowMs = () => status?.window_ms || 60_000;
  const seek = (to) => {
    if (!status) return;
    send({ action: 'seek', to: Math.round(Math.min(status.end, Math.max(status.start, to))) });
  };
  const togglePlay = () => send({ action: status?.playing ? 'pause' : 'play' });
  const stepBack = () => {
    if (!status) return;
    const w = windowMs();
    seek(Math.floor((status.position - 1) / w) * w);
  };
  const changeSpeed = (delta) => {
    const i = SPEEDS.findIndex((s) => String(s) === String(status?.speed));
    const next = SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 7 : i) + delta))];
    send({ action: 'speed', speed: next });
  };

  play.addEventListener('click', togglePlay);
  step.addEventListener('click', () => send({ action: 'step' }));
  speed.addEventListener('change', () => {
    const value = speed.value === 'max' ? 'max' : Number(speed.value);
    send({ action: 'speed', speed: value });
  });
  slider.addEventListener('input', () => {
    dragging = true;
    position.textContent = utc(Number(slider.value), true);
  });
  slider.addEventListener('change', () => {
    dragging = false;
    seek(Number(slider.value));
  });
  gotoForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const ms = parseUtc(gotoInput.value);
    if (ms == null) {
      gotoInput.setCustomValidity('a UTC date/time such as 2025-01-15 12:30');
      gotoInput.reportValidity();
      return;
    }
    gotoInput.setCustomValidity('');
    seek(ms);
  });
  document.addEventListener('keydown', (event) => {
    if (!status || event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest?.('input:not([type=range]), select, textarea');
    if (typing) return;
    const actions = {
      ' ': togglePlay,
      ArrowRight: () => send({ action: 'step' }),
      ArrowLeft: stepBack,
      ArrowUp: () => changeSpeed(1),
      ArrowDown: () => changeSpeed(-1),
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  function render(next) {
    if (!next || next.playing == null) {
      bar.hidden = true;
      return;
    }
    status = next;
    bar.hidden = false;
    const span = Math.max(1, status.end - status.start);
    const at = (ms) => `${(((ms - status.start) / span) * 100).toFixed(3)}%`;
    slider.min = String(status.start);
    slider.max = String(status.end);
    slider.step = '1000';
    if (!dragging) {
      slider.value = String(status.position);
      position.textContent = utc(status.position, true);
    }
    slider.style.setProperty('--pos', at(status.position));
    slider.style.setProperty('--loaded', at(status.loaded_to ?? status.position));
    play.innerHTML = status.playing ? ICONS.pause : ICONS.play;
    play.title = status.playing ? 'Pause (space)' : 'Play (space)';
    play.setAttribute('aria-pressed', String(status.playing));
    speed.value = String(status.speed);
    const seeking = status.phase === 'seeking';
    state.textContent = seeking ? 'seeking…' : `${status.playing ? 'playing' : 'paused'} · ${speedLabel(status.speed)}`;
    state.dataset.state = seeking ? 'seeking' : status.playing ? 'playing' : 'paused';
    bar.dataset.position = String(status.position);
  }

  return { render, send };
}
