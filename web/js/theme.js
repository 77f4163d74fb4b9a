// Colours and chart options shared by the panes: one dark theme for the whole page.

export const colors = {
  bg: '#0b0f16',
  grid: 'rgba(42, 52, 68, 0.45)',
  border: '#1f2835',
  text: '#8c97a8',
  crosshair: '#5d6b80',
  up: '#26a69a',
  down: '#ef5350',
  upVolume: 'rgba(38, 166, 154, 0.45)',
  downVolume: 'rgba(239, 83, 80, 0.45)',
  obiUp: '#4fc3f7',
  obiDown: '#2266c4',
  cvd: '#f0b429',
  cvdUpFill1: 'rgba(38, 166, 154, 0.28)',
  cvdUpFill2: 'rgba(38, 166, 154, 0.02)',
  cvdDownFill1: 'rgba(239, 83, 80, 0.02)',
  cvdDownFill2: 'rgba(239, 83, 80, 0.28)',
  label: 'rgba(140, 151, 168, 0.55)',
};

export const fontFamily = 'Inter, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
