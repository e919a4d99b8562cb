// The search page: query bar (syntax help, history), time picker, count
// histogram (drag to zoom), results newest first with infinite scroll
// (search_after), a field sidebar whose values filter the query, and live
// tail. Everything it shows follows from the URL's q, from, to, stream and
// live parameters.

import { html, useState, useEffect, useRef, useMemo } from './vendor/preact-htm.js';
import { api } from './api.js';
import { t, formatNumber } from './i18n.js';
import { ErrorBox, Empty, Loading, EventRow, navigate } from './parts.js';
import { PRESETS, resolve, iso, interval, display } from './time.js';
import { Histogram } from './histogram.js';

const PAGE = 50;
const DEFAULT_FROM = 'now-24h';
/** Keyword fields, whose top values the sidebar shows (event.id is unique). */
const KEYWORDS = ['stream', 'host.name', 'process.name', 'event.outcome', 'event.action', 'event.category', 'user.name',
  'source.ip', 'destination.ip', 'log.level', 'log.file.path', 'event.code', 'host.ip', 'log.source.address',
  'observer.vendor', 'observer.product', 'parse.error'];
const HISTORY = 'logwarden.history';

function readParams() {
  const p = new URLSearchParams(location.search);
  return {
    q: p.get('q') || '',
    from: p.has('from') ? p.get('from') : DEFAULT_FROM,
    to: p.get('to') || '',
    stream: p.get('stream') || '',
    live: p.get('live') === '1',
  };
}

/** The URL of a search view. */
export function searchUrl(view) {
  const p = new URLSearchParams();
  if (view.q) p.set('q', view.q);
  p.set('from', view.from || '');
  if (view.to) p.set('to', view.to);
  if (view.stream) p.set('stream', view.stream);
  if (view.live) p.set('live', '1');
  return '/search?' + p.toString();
}

function quote(value) {
  return '"' + String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** `q` with `field:"value"` (or `NOT field:"value"`) added. */
export function withFilter(q, field, value, exclude) {
  const clause = `${exclude ? 'NOT ' : ''}${field}:${quote(value)}`;
  const base = q.trim();
  if (!base || base === '*') return clause;
  return /\s(OR)\s/.test(base) ? `(${base}) AND ${clause}` : `${base} AND ${clause}`;
}

function remember(q) {
  if (!q) return;
  const list = JSON.parse(localStorage.getItem(HISTORY) || '[]').filter((x) => x !== q);
  list.unshift(q);
  localStorage.setItem(HISTORY, JSON.stringify(list.slice(0, 20)));
}

function history() {
  try { return JSON.parse(localStorage.getItem(HISTORY) || '[]'); } catch { return []; }
}

function useParams() {
  const [params, setParams] = useState(readParams());
  useEffect(() => {
    const update = () => setParams(readParams());
    addEventListener('popstate', update);
    addEventListener('logwarden:navigate', update);
    return () => { removeEventListener('popstate', update); removeEventListener('logwarden:navigate', update); };
  }, []);
  return params;
}

function QueryBar({ view }) {
  const [q, setQ] = useState(view.q);
  useEffect(() => setQ(view.q), [view.q]);
  const submit = (e) => {
    e.preventDefault();
    remember(q.trim());
    navigate(searchUrl({ ...view, q: q.trim() }));
  };
  return html`<form class="querybar" onSubmit=${submit}>
    <input type="search" name="q" list="query-history" data-testid="query" value=${q} placeholder=${t('search.placeholder')}
      onInput=${(e) => setQ(e.target.value)} aria-label="query" />
    <datalist id="query-history">${history().map((h) => html`<option value=${h} />`)}</datalist>
    <button type="submit" data-testid="search">${t('search.submit')}</button>
    <details class="help">
      <summary>${t('search.help')}</summary>
      <ul>
        <li><code>sshd failed</code> — bare words: the message and the keyword fields (all words must match)</li>
        <li><code>"Failed password"</code> — a phrase in the message</li>
        <li><code>host.name:web*</code>, <code>log.file.path:"/var/log/auth.log"</code> — a field (ECS names)</li>
        <li><code>process.pid:[1 TO 100]</code> — a range; <code>user.name:*</code> — the field exists</li>
        <li><code>AND</code>, <code>OR</code>, <code>NOT</code>, <code>( )</code>; terms are ANDed</li>
        <li><code>fields.x:y</code> — a parser's free field; <code>stream:audit</code> needs an admin or auditor key</li>
      </ul>
    </details>
  </form>`;
}

function TimePicker({ view }) {
  const [from, setFrom] = useState(view.from);
  const [to, setTo] = useState(view.to);
  useEffect(() => { setFrom(view.from); setTo(view.to); }, [view.from, view.to]);
  const preset = (value) => navigate(searchUrl({ ...view, from: value, to: '' }));
  const apply = (e) => { e.preventDefault(); navigate(searchUrl({ ...view, from: from.trim(), to: to.trim() })); };
  const selected = view.to ? 'custom' : view.from === '' ? '' : PRESETS.some((p) => 'now-' + p === view.from) ? view.from : 'custom';
  return html`<form class="timepicker" onSubmit=${apply} data-testid="timepicker">
    <select aria-label=${t('time.range')} data-testid="preset" value=${selected}
      onChange=${(e) => e.target.value !== 'custom' && preset(e.target.value)}>
      ${PRESETS.map((p) => html`<option value=${'now-' + p}>${t('time.last', { d: p })}</option>`)}
      <option value="">${t('time.all')}</option>
      <option value="custom" disabled>${t('time.custom')}</option>
    </select>
    <input name="from" data-testid="from" value=${from} placeholder="now-24h" title=${t('time.absolute')} aria-label=${t('time.from')} onInput=${(e) => setFrom(e.target.value)} />
    <span>→</span>
    <input name="to" data-testid="to" value=${to} placeholder="now" title=${t('time.absolute')} aria-label=${t('time.to')} onInput=${(e) => setTo(e.target.value)} />
    <button type="submit" class="ghost">${t('time.apply')}</button>
  </form>`;
}

/** The time bounds one search covers, in epoch ms (null: unbounded). */
function bounds(view, now) {
  return { from: resolve(view.from, now), to: view.to ? resolve(view.to, now) : null };
}

/** Oldest and newest event time of the query, for an unbounded range. */
async function extent(base) {
  const [oldest, newest] = await Promise.all([
    api.get('/api/v1/search', { ...base, limit: 1, sort: '@timestamp:asc' }),
    api.get('/api/v1/search', { ...base, limit: 1, sort: '@timestamp:desc' }),
  ]);
  if (!oldest.hits.length) return null;
  return [Date.parse(oldest.hits[0]['@timestamp']), Date.parse(newest.hits[0]['@timestamp']) + 1];
}

/** Runs the search of `view`: first page, histogram, stream counts. */
async function runSearch(view) {
  const now = Date.now();
  const b = bounds(view, now);
  const base = { q: view.q, stream: view.stream || undefined, from: b.from !== null ? iso(b.from) : undefined, to: b.to !== null ? iso(b.to) : undefined };
  let start = b.from;
  let end = b.to === null ? now : b.to;
  if (start === null) {
    // All time: from the oldest event to the newest (or to `to`).
    const found = await extent(base);
    if (found) {
      start = found[0];
      if (b.to === null) end = found[1];
    }
  }
  if (start === null || start >= end) start = end - 86400e3;
  const span = [start, end];
  const step = interval(Math.max(end - start, 1000));
  const body = {
    ...base, limit: PAGE,
    aggs: {
      histogram: { date_histogram: { field: '@timestamp', fixed_interval: step.name } },
      streams: { terms: { field: 'stream', size: 20 } },
    },
  };
  const first = await api.post('/api/v1/search', body);
  return { base, span, step, first };
}

function Sidebar({ view, base, hits }) {
  const present = useMemo(() => KEYWORDS.filter((f) => hits.some((h) => h[f] !== undefined && h[f] !== null && h[f] !== '')), [hits]);
  const key = JSON.stringify([base, present]);
  const [state, setState] = useState({ key: null, data: null, error: null });
  useEffect(() => {
    if (!present.length) return;
    const aggs = {};
    present.forEach((f, i) => { aggs['f' + i] = { terms: { field: f, size: 5 } }; });
    api.post('/api/v1/search', { ...base, limit: 1, aggs })
      .then((r) => setState({ key, data: present.map((f, i) => [f, (r.aggregations['f' + i] || {}).buckets || []]), error: null }))
      .catch((error) => setState({ key, data: null, error }));
  }, [key]);
  const filter = (field, value, exclude) => navigate(searchUrl({ ...view, q: withFilter(view.q, field, value, exclude) }));
  return html`<aside class="sidebar" data-testid="sidebar">
    <h3>${t('search.fields')}</h3>
    ${!present.length && html`<p class="muted">${t('search.fields.none')}</p>`}
    <${ErrorBox} error=${state.error} />
    ${state.data && state.data.map(([field, buckets]) => html`<section class="field" data-field=${field}>
      <h4>${field}</h4>
      <ul>${buckets.map((b) => html`<li data-testid="field-value">
        <span class="value" title=${b.key}>${String(b.key)}</span>
        <span class="count">${formatNumber(b.doc_count)}</span>
        <button class="icon" title=${t('search.include')} aria-label=${`${t('search.include')}: ${field} ${b.key}`} data-testid="include"
          onClick=${() => filter(field, b.key, false)}>+</button>
        <button class="icon" title=${t('search.exclude')} aria-label=${`${t('search.exclude')}: ${field} ${b.key}`} data-testid="exclude"
          onClick=${() => filter(field, b.key, true)}>−</button>
      </li>`)}</ul>
    </section>`)}
  </aside>`;
}

function Results({ view, result }) {
  const [hits, setHits] = useState(result.first.hits);
  const [next, setNext] = useState(result.first.next);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const sentinel = useRef(null);
  useEffect(() => { setHits(result.first.hits); setNext(result.first.next); setError(null); }, [result]);
  useEffect(() => {
    if (!sentinel.current || !next) return undefined;
    const observer = new IntersectionObserver(async (entries) => {
      if (!entries.some((e) => e.isIntersecting) || busy) return;
      setBusy(true);
      try {
        const page = await api.get('/api/v1/search', { ...result.base, limit: PAGE, search_after: next });
        setHits((h) => h.concat(page.hits));
        setNext(page.next);
      } catch (e) {
        setError(e);
      } finally {
        setBusy(false);
      }
    }, { rootMargin: '400px' });
    observer.observe(sentinel.current);
    return () => observer.disconnect();
  }, [next, busy, result]);
  const actions = (field, value) => (KEYWORDS.includes(field) || field === 'process.pid') && value !== null && typeof value !== 'object'
    ? html`<button class="icon" title=${t('search.include')} onClick=${() => navigate(searchUrl({ ...view, q: withFilter(view.q, field, value, false) }))}>+</button>
       <button class="icon" title=${t('search.exclude')} onClick=${() => navigate(searchUrl({ ...view, q: withFilter(view.q, field, value, true) }))}>−</button>`
    : null;
  return html`<div class="results-body">
    <div class="results-list">
      <ol class="events" data-testid="events">${hits.map((e, i) => html`<${EventRow} key=${(e['event.id'] || '') + i} event=${e} actions=${actions} />`)}</ol>
      <${ErrorBox} error=${error} />
      <div ref=${sentinel} class="muted sentinel" data-testid="sentinel">${next ? t('search.more') : hits.length ? t('search.end') : ''}</div>
    </div>
    <${Sidebar} view=${view} base=${result.base} hits=${hits} />
  </div>`;
}

function LiveTail({ view }) {
  const [events, setEvents] = useState([]);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stop = false;
    const seen = new Set();
    const poll = async () => {
      try {
        const r = await api.get('/api/v1/search', { q: view.q, stream: view.stream || undefined, sort: 'event.ingested:desc', limit: PAGE });
        const fresh = r.hits.filter((e) => !seen.has(e['event.id']));
        fresh.forEach((e) => seen.add(e['event.id']));
        if (fresh.length && !stop) setEvents((old) => fresh.concat(old).slice(0, 500));
        setError(null);
      } catch (e) {
        if (!stop) setError(e);
      }
      if (!stop) setTimeout(poll, 2000);
    };
    poll();
    return () => { stop = true; };
  }, [view.q, view.stream]);
  return html`<section class="live" data-testid="live">
    <p class="muted">${t('search.live.on')}</p>
    <${ErrorBox} error=${error} />
    <ol class="events" data-testid="live-events">${events.map((e) => html`<${EventRow} key=${e['event.id']} event=${e} />`)}</ol>
  </section>`;
}

export function SearchPage() {
  const view = useParams();
  const key = JSON.stringify([view.q, view.from, view.to, view.stream]);
  const [state, setState] = useState({ key: null, result: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (view.live) return undefined;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    runSearch(view).then((result) => live && setState({ key, result, error: null }))
      .catch((error) => live && setState({ key, result: null, error }));
    return () => { live = false; };
  }, [key, view.live, tick]);
  const result = state.result;
  const zoom = (from, to) => navigate(searchUrl({ ...view, from: iso(Math.floor(from)), to: iso(Math.ceil(to)) }));
  const streams = result && result.first.aggregations ? result.first.aggregations.streams.buckets.map((b) => b.key) : [];
  return html`<div class="search">
    <div class="toolbar">
      <${QueryBar} view=${view} />
      <${TimePicker} view=${view} />
      <select aria-label=${t('search.stream')} data-testid="stream" value=${view.stream}
        onChange=${(e) => navigate(searchUrl({ ...view, stream: e.target.value }))}>
        <option value="">${t('search.stream.all')}</option>
        ${[...new Set(streams.concat(view.stream ? [view.stream] : []))].map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
      <label class="toggle"><input type="checkbox" data-testid="live-toggle" checked=${view.live}
        onChange=${(e) => navigate(searchUrl({ ...view, live: e.target.checked }))} /> ${t('search.live')}</label>
    </div>
    ${view.live ? html`<${LiveTail} view=${view} />` : html`
      <${ErrorBox} error=${state.error} onRetry=${() => setTick((n) => n + 1)} />
      ${!result && !state.error && html`<${Loading} />`}
      ${result && html`<div class=${'results' + (state.loading ? ' stale' : '')}>
        <div class="summary">
          <strong data-testid="total" data-total=${result.first.total}>${t('search.total', { n: formatNumber(result.first.total) })}</strong>
          <span class="muted">${display(result.span[0])} → ${display(result.span[1])} · ${t('search.took', { ms: result.first.took_ms, splits: result.first.splits.searched })}</span>
        </div>
        <${Histogram} buckets=${result.first.aggregations.histogram.buckets} span=${result.span} step=${result.step} onZoom=${zoom} />
        ${result.first.total === 0 ? html`<${Empty} testid="no-results">
            <p>${t('search.none')}</p><p class="muted">${t('search.none.hint')}</p>
            ${view.from !== '' && html`<button onClick=${() => navigate(searchUrl({ ...view, from: '', to: '' }))}>${t('search.all_time')}</button>`}
          </${Empty}>`
          : html`<${Results} view=${view} result=${result} />`}
      </div>`}`}
  </div>`;
}
