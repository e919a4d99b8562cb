// Pieces every page uses: errors as the API states them, empty and loading
// states, a fetching hook, an event that expands to all its fields.

import { html, useState, useEffect, useCallback } from './vendor/preact-htm.js';
import { t } from './i18n.js';
import { display } from './time.js';

/** Goes to `path` (with its query string) without reloading. */
export function navigate(path, replace = false) {
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  dispatchEvent(new Event('logwarden:navigate'));
}

/** The API's message, with its code and status. */
export function ErrorBox({ error, onRetry }) {
  if (!error) return null;
  return html`<div class="error" role="alert" data-testid="error">
    <strong>${error.status ? `${error.status} ` : ''}${error.code || t('error.title')}</strong>
    <span data-testid="error-message">${error.message}</span>
    ${onRetry && html`<button class="ghost" onClick=${onRetry}>${t('error.retry')}</button>`}
  </div>`;
}

export function Empty({ children, testid }) {
  return html`<div class="empty" data-testid=${testid || 'empty'}>${children}</div>`;
}

export function Loading() {
  return html`<div class="muted loading">${t('loading')}</div>`;
}

/** Runs `load` when `deps` change: { data, error, loading, reload }. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then((data) => live && setState({ data, error: null, loading: false }))
      .catch((error) => live && setState({ data: null, error, loading: false }));
    return () => { live = false; };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/** `{a: {b: 1}}` → [['a.b', 1]]; ECS names stay dotted as stored. */
export function flatten(value, prefix = '', out = []) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.push([prefix, value]);
  }
  return out;
}

function text(value) {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** One event: a summary line that expands to every field and the original line. */
export function EventRow({ event, actions }) {
  const [open, setOpen] = useState(false);
  const fields = open ? flatten(event).filter(([k]) => k !== 'event.original').sort((a, b) => a[0].localeCompare(b[0])) : [];
  const summary = event.message || event['event.original'] || '';
  return html`<li class=${'event' + (open ? ' open' : '')} data-testid="event">
    <button class="event-line" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      <span class="ts">${display(event['@timestamp'])}</span>
      <span class="tag">${event.stream || ''}</span>
      <span class="host">${event['host.name'] || ''}</span>
      <span class="proc">${event['process.name'] || ''}</span>
      <span class="msg">${summary}</span>
    </button>
    ${open && html`<div class="event-detail" data-testid="event-detail">
      <h4>${t('search.original')}</h4>
      <pre class="original" data-testid="original">${event['event.original'] || ''}</pre>
      <h4>${t('search.all_fields')}</h4>
      <table class="fields"><tbody>${fields.map(([k, v]) => html`<tr>
        <th>${k}</th><td>${text(v)}</td>
        <td class="actions">${actions && actions(k, v)}</td></tr>`)}</tbody></table>
    </div>`}
  </li>`;
}

export function StatusBadge({ value }) {
  return html`<span class=${'badge ' + String(value).toLowerCase()}>${value}</span>`;
}
