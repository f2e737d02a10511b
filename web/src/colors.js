// colors.js — the dashboard's colours, one place, so the map, the legend,
// the charts and docs/dashboard.md agree.

export const STATUS = {
  holding: '#2e7d32',   // green: no violation in the window
  strained: '#f9a825',  // amber: 1-4
  violated: '#e65100',  // orange: 5-19
  collapsed: '#b71c1c', // dark red: 20+ or 100+ deaths
};
export const NO_STATUS = '#78909c';

// Zone outline by kind: colour and dash.
export const KIND = {
  de_escalation: { color: '#0d47a1', dash: null, label: 'de-escalation area' },
  no_fly: { color: '#6a1b9a', dash: '10 6', label: 'no-fly zone' },
  safe: { color: '#00838f', dash: '2 6', label: 'safe zone' },
  other: { color: '#37474f', dash: '4 4', label: 'other zone' },
};
export const kindStyle = (k) => KIND[k] || KIND.other;

export const CORRIDOR = { open: '#1b5e20', closed: '#c62828' };
export const SITE = '#ad1457';

export const CLASS = {
  violation: '#c62828',
  uncertain: '#ff8f00',
  excluded: '#607d8b',
  outside: '#b0bec5',
};
export const CLASS_ORDER = ['violation', 'uncertain', 'excluded', 'outside'];

// Parties: fixed colours for the main ones, a palette for the rest.
const FIXED = { ru: '#d32f2f', us: '#1565c0', tr: '#00897b', ir: '#558b2f', 'syr-gov': '#6d4c41', 'syr-opposition': '#f57c00', sdf: '#8e24aa', is: '#212121', none: '#9e9e9e' };
const PALETTE = ['#3949ab', '#c0ca33', '#5d4037', '#00acc1', '#e91e63', '#7cb342', '#fb8c00', '#546e7a', '#8d6e63', '#26a69a'];
export function partyColor(p) {
  if (FIXED[p]) return FIXED[p];
  let h = 0;
  for (const c of String(p)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}
