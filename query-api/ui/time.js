// Time ranges as the API takes them (RFC 3339, epoch ms, now-15m) and as
// people read them. Relative bounds stay relative in the URL; each search
// resolves them once, so every page of one search covers the same range.

const UNITS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 };

export const PRESETS = ['15m', '1h', '4h', '24h', '7d', '30d', '1y'];

/** Epoch ms of `text` at `now`, or null when it is empty or unreadable. */
export function resolve(text, now = Date.now()) {
  if (!text) return null;
  const relative = /^now(?:([-+])(\d+)([smhdwy]))?$/.exec(text.trim());
  if (relative) {
    if (!relative[1]) return now;
    const delta = Number(relative[2]) * UNITS[relative[3]];
    return relative[1] === '-' ? now - delta : now + delta;
  }
  if (/^\d+$/.test(text.trim())) return Number(text.trim());
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? null : parsed;
}

export function iso(ms) {
  return new Date(ms).toISOString();
}

/** A readable local time with milliseconds. */
export function display(value) {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (Number.isNaN(ms)) return String(value);
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A histogram interval giving at most ~`buckets` bars over `span` ms. */
export function interval(span, buckets = 80) {
  const steps = [
    ['1s', 1e3], ['5s', 5e3], ['10s', 10e3], ['30s', 30e3], ['1m', 60e3], ['5m', 300e3], ['10m', 600e3],
    ['30m', 1800e3], ['1h', 3600e3], ['3h', 3 * 3600e3], ['12h', 12 * 3600e3], ['1d', 86400e3], ['7d', 7 * 86400e3],
    ['30d', 30 * 86400e3], ['365d', 365 * 86400e3],
  ];
  for (const [name, ms] of steps) if (span / ms <= buckets) return { name, ms };
  return { name: '3650d', ms: 3650 * 86400e3 };
}
