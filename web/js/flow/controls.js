// The trader's settings of the footprint: row size in ticks, imbalance ratio, big-print size
// filter and the session profile, in a small bar over the chart.

export function createControls(container, settings, { onChange, onMinSize }) {
  const bar = document.createElement('div');
  bar.className = 'flow-controls';
  bar.innerHTML = `
    <label title="Price rows of the footprint and the profiles, in ticks (display only)">row
      <select id="flow-row">
        <option value="auto">auto</option>
        ${[1, 2, 5, 10, 25, 50, 100].map((n) => `<option value="${n}">${n} tick${n > 1 ? 's' : ''}</option>`).join('')}
      </select></label>
    <label title="Diagonal imbalance: buy at a price against sell one row below, at least this ratio">imb
      <input id="flow-ratio" type="number" min="100" step="50" value="${Math.round(settings.ratio * 100)}">%</label>
    <label title="Big prints: size at least (empty = the largest 0.5 % so far)">prints ≥
      <input id="flow-min-size" type="number" min="0" step="any" placeholder="auto"></label>
    <label title="Volume profile of the whole session on the left"><input id="flow-session" type="checkbox" ${settings.sessionProfile ? 'checked' : ''}>session</label>
    <span class="flow-mode" id="flow-mode">candles</span>`;
  container.appendChild(bar);
  const $ = (id) => bar.querySelector(`#${id}`);
  $('flow-row').addEventListener('change', (e) => {
    settings.rowTicks = e.target.value === 'auto' ? 'auto' : Number(e.target.value);
    onChange();
  });
  $('flow-ratio').addEventListener('change', (e) => {
    const percent = Number(e.target.value);
    if (Number.isFinite(percent) && percent >= 100) settings.ratio = percent / 100;
    onChange();
  });
  $('flow-min-size').addEventListener('change', (e) => {
    const text = e.target.value.trim();
    const size = Number(text);
    onMinSize(text === '' || !Number.isFinite(size) ? null : size);
  });
  $('flow-session').addEventListener('change', (e) => {
    settings.sessionProfile = e.target.checked;
    onChange();
  });
  return {
    setMode(mode) {
      $('flow-mode').textContent = mode;
      $('flow-mode').dataset.mode = mode;
    },
    setAutoMinSize(size) {
      $('flow-min-size').placeholder = size == null ? 'auto' : `auto ${size}`;
    },
  };
}
