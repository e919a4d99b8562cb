// Alerts: the list with its filters (in the URL), and one alert with its
// matched events and its triage (acknowledge, close, with a comment).

import { html, useState } from './vendor/preact-htm.js';
import { api } from './api.js';
import { t, formatNumber } from './i18n.js';
import { ErrorBox, Empty, Loading, EventRow, StatusBadge, navigate, useLoad } from './parts.js';
import { display } from './time.js';

const LIMIT = 50;
const FILTERS = ['status', 'level', 'rule', 'group', 'from', 'to'];

function params() {
  const p = new URLSearchParams(location.search);
  const out = {};
  for (const name of [...FILTERS, 'offset']) if (p.get(name)) out[name] = p.get(name);
  return out;
}

function listUrl(filters) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) p.set(k, v);
  const text = p.toString();
  return '/alerts' + (text ? '?' + text : '');
}

export function AlertsPage() {
  const filters = params();
  const key = location.search;
  const { data, error, loading, reload } = useLoad(() => api.get('/api/v1/alerts', { ...filters, limit: LIMIT }), [key]);
  const set = (name, value) => navigate(listUrl({ ...filters, [name]: value, offset: '' }));
  const offset = Number(filters.offset || 0);
  return html`<div class="page">
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label>${t('alerts.status')}<select data-testid="alert-status" value=${filters.status || ''} onChange=${(e) => set('status', e.target.value)}>
        <option value="">${t('alerts.any')}</option>
        ${['open', 'acknowledged', 'closed', 'open,acknowledged'].map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>${t('alerts.level')}<select value=${filters.level || ''} onChange=${(e) => set('level', e.target.value)}>
        <option value="">${t('alerts.any')}</option>
        ${['informational', 'low', 'medium', 'high', 'critical'].map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>${t('alerts.rule')}<input value=${filters.rule || ''} onChange=${(e) => set('rule', e.target.value.trim())} /></label>
      <label>${t('alerts.group')}<input value=${filters.group || ''} placeholder="source.ip=10.0.0.5" onChange=${(e) => set('group', e.target.value.trim())} /></label>
      <label>${t('time.from')}<input value=${filters.from || ''} placeholder="now-7d" onChange=${(e) => set('from', e.target.value.trim())} /></label>
    </form>
    <${ErrorBox} error=${error} onRetry=${reload} />
    ${loading && !data && html`<${Loading} />`}
    ${data && (data.alerts.length === 0 ? html`<${Empty}>${t('alerts.none')}</${Empty}>` : html`
      <p class="muted" data-testid="alert-total">${formatNumber(data.total)}</p>
      <table class="grid" data-testid="alerts"><thead><tr>
        <th>${t('alerts.last_seen')}</th><th>${t('alerts.level')}</th><th>${t('alerts.rule')}</th><th>${t('alerts.group')}</th>
        <th>${t('alerts.count')}</th><th>${t('alerts.status')}</th></tr></thead>
      <tbody>${data.alerts.map((a) => html`<tr class="link" onClick=${() => navigate('/alerts/' + a.id)}>
        <td>${display(a.last_seen)}</td><td><${StatusBadge} value=${a.rule.level} /></td>
        <td><a href=${'/alerts/' + a.id} onClick=${(e) => { e.preventDefault(); navigate('/alerts/' + a.id); }}>${a.rule.title}</a></td>
        <td>${(a.group && a.group.key) || ''}</td><td>${formatNumber(a.count)}</td><td><${StatusBadge} value=${a.status} /></td>
      </tr>`)}</tbody></table>
      <div class="pager">
        <button class="ghost" disabled=${offset === 0} onClick=${() => navigate(listUrl({ ...filters, offset: String(Math.max(0, offset - LIMIT)) }))}>${t('alerts.prev')}</button>
        <button class="ghost" disabled=${offset + LIMIT >= data.total} onClick=${() => navigate(listUrl({ ...filters, offset: String(offset + LIMIT) }))}>${t('alerts.next')}</button>
      </div>`)}
  </div>`;
}

function Triage({ alert, onChanged }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const change = async (action) => {
    setBusy(true);
    setError(null);
    try {
      await api.post(`/api/v1/alerts/${alert.id}/${action}`, { comment });
      setComment('');
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="triage" onSubmit=${(e) => e.preventDefault()}>
    <label>${t('alerts.comment')}<textarea data-testid="comment" value=${comment} onInput=${(e) => setComment(e.target.value)} required></textarea></label>
    <div class="row">
      <button disabled=${busy || !comment.trim() || alert.status !== 'open'} data-testid="acknowledge" onClick=${() => change('acknowledge')}>${t('alerts.acknowledge')}</button>
      <button disabled=${busy || !comment.trim() || alert.status === 'closed'} data-testid="close" onClick=${() => change('close')}>${t('alerts.close')}</button>
    </div>
    <${ErrorBox} error=${error} />
  </form>`;
}

/** A search around the alert: its group's values, a minute either side. */
function searchAround(alert) {
  const values = (alert.group && alert.group.values) || {};
  const q = Object.entries(values).map(([field, value]) => `${field}:"${String(value).replace(/(["\\])/g, '\\$1')}"`).join(' AND ');
  const p = new URLSearchParams({ q, from: new Date(Date.parse(alert.first_seen) - 60e3).toISOString(), to: new Date(Date.parse(alert.last_seen) + 60e3).toISOString() });
  return '/search?' + p.toString();
}

export function AlertPage({ me, id }) {
  const { data, error, loading, reload } = useLoad(() => api.get('/api/v1/alerts/' + encodeURIComponent(id)), [id]);
  return html`<div class="page">
    <p><a href="/alerts" onClick=${(e) => { e.preventDefault(); navigate('/alerts'); }}>← ${t('alerts.back')}</a></p>
    <${ErrorBox} error=${error} onRetry=${reload} />
    ${loading && !data && html`<${Loading} />`}
    ${data && html`<article class="alert" data-testid="alert">
      <h2><${StatusBadge} value=${data.rule.level} /> ${data.rule.title} <${StatusBadge} value=${data.status} /></h2>
      ${data.rule.description && html`<p>${data.rule.description}</p>`}
      <dl class="facts">
        <dt>${t('alerts.rule')}</dt><dd><code>${data.rule.id}</code> ${(data.rule.tags || []).map((tag) => html`<span class="tag">${tag}</span>`)}</dd>
        <dt>${t('alerts.group')}</dt><dd>${(data.group && data.group.key) || '—'}</dd>
        <dt>${t('alerts.first_seen')}</dt><dd>${display(data.first_seen)}</dd>
        <dt>${t('alerts.last_seen')}</dt><dd>${display(data.last_seen)}</dd>
        <dt>${t('alerts.count')}</dt><dd>${formatNumber(data.count)}</dd>
      </dl>
      <p><a href=${searchAround(data)} data-testid="search-around" onClick=${(e) => { e.preventDefault(); navigate(searchAround(data)); }}>${t('alerts.search_around')}</a></p>
      ${me.may.triage ? html`<${Triage} alert=${data} onChanged=${reload} />` : html`<p class="muted">${t('alerts.readonly')}</p>`}
      ${data.status_history.length > 0 && html`<h3>${t('alerts.history')}</h3>
        <ul class="history">${data.status_history.map((h) => html`<li>${display(h.at)} · <${StatusBadge} value=${h.status} /> · ${h.by}: ${h.comment}</li>`)}</ul>`}
      <h3>${t('alerts.matched')}</h3>
      <ol class="events">${data.matched_events.map((m) => m.resolved
        ? html`<${EventRow} event=${m.event} />`
        : html`<li class="muted">${m.ref.id || JSON.stringify(m.ref)}: ${t('alerts.unresolved', { reason: m.reason })}</li>`)}</ol>
    </article>`}
  </div>`;
}
