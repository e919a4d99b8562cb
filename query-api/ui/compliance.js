// Compliance: the report's per-stream status and reasons, the monthly
// access review when the server has it (/api/v1/compliance/review), and
// the exports with their verification (exports.js).

import { html, useState } from './vendor/preact-htm.js';
import { api } from './api.js';
import { t, lang } from './i18n.js';
import { ErrorBox, Empty, Loading, StatusBadge, useLoad, navigate } from './parts.js';
import { display } from './time.js';
import { Exports } from './exports.js';

function reasonText(reason) {
  return (lang() === 'ko' ? reason.ko : reason.en) || reason.en || reason.code;
}

function lastMonth() {
  const d = new Date();
  d.setDate(1);
  d.setMonth(d.getMonth() - 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
}

function FindingState({ finding, onChanged }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState(null);
  const set = async (state) => {
    setError(null);
    try {
      await api.post(`/api/v1/compliance/review/findings/${finding.id}`, { state, comment });
      setComment('');
      onChanged();
    } catch (e) { setError(e); }
  };
  return html`<div class="finding-state">
    <input value=${comment} placeholder=${t('compliance.review.comment')} onInput=${(e) => setComment(e.target.value)} />
    <button class="ghost" disabled=${!comment.trim()} onClick=${() => set('explained')}>${t('compliance.review.explained')}</button>
    <button class="ghost" disabled=${!comment.trim()} onClick=${() => set('escalated')}>${t('compliance.review.escalated')}</button>
    <${ErrorBox} error=${error} />
  </div>`;
}

/** The monthly access review (GET /api/v1/compliance/review?month=): its
 * findings with their 소명 state, set here; shown when the server has it. */
function Review({ me }) {
  const month = new URLSearchParams(location.search).get('month') || lastMonth();
  const { data, error, loading, reload } = useLoad(() => api.get('/api/v1/compliance/review', { month }).catch((e) => {
    if (e.status === 404 || e.status === 405) return { missing: true };
    throw e;
  }), [month]);
  const pick = (value) => navigate('/compliance?month=' + encodeURIComponent(value));
  const ko = lang() === 'ko';
  return html`<div data-testid="review-section">
    <label class="month">${t('compliance.review.month')} <input type="month" value=${month} onChange=${(e) => e.target.value && pick(e.target.value)} /></label>
    ${loading && !data && html`<${Loading} />`}
    <${ErrorBox} error=${error} onRetry=${reload} />
    ${data && data.missing && html`<p class="muted" data-testid="review-missing">${t('compliance.review.missing')}</p>`}
    ${data && !data.missing && html`<div data-testid="review">
      <p><${StatusBadge} value=${data.status} /> ${data.month} (${data.timezone}) ·
        ${t('compliance.review.summary', { findings: data.summary.findings, pending: data.summary.pending, explained: data.summary.explained, escalated: data.summary.escalated })}</p>
      ${data.integrity && html`<p><${StatusBadge} value=${data.integrity.status} /> ${ko ? data.integrity.ko : data.integrity.en}</p>`}
      ${data.signoff && html`<p>${t('compliance.review.signed', { by: data.signoff.by, at: display(data.signoff.at) })}</p>`}
      ${data.findings.length === 0 ? html`<p class="muted">${t('compliance.review.none')}</p>` : html`
      <table class="grid" data-testid="findings"><thead><tr><th>${t('time')}</th><th>${t('compliance.review.check')}</th>
        <th>${t('compliance.review.account')}</th><th>${t('message')}</th><th>${t('alerts.status')}</th></tr></thead>
      <tbody>${data.findings.map((f) => html`<tr>
        <td>${f.local_time}</td><td><code>${f.check}</code></td><td>${f.account || '—'}${f.origin ? html`<div class="muted">${f.origin}</div>` : ''}</td>
        <td>${ko ? f.ko : f.en}${f.history && f.history.length > 0 && html`<div class="muted">${f.history[f.history.length - 1].by}: ${f.history[f.history.length - 1].comment}</div>`}</td>
        <td><${StatusBadge} value=${f.state} />${me.may.compliance && html`<${FindingState} finding=${f} onChanged=${reload} />`}</td>
      </tr>`)}</tbody></table>`}
    </div>`}
  </div>`;
}

export function CompliancePage({ me }) {
  const { data, error, loading, reload } = useLoad(() => api.get('/api/v1/compliance/report', { lang: lang() }), []);
  return html`<div class="page">
    <h2>${t('compliance.title')}</h2>
    <${ErrorBox} error=${error} onRetry=${reload} />
    ${loading && !data && html`<${Loading} />`}
    ${data && html`
      <p data-testid="compliance-overall">${t('compliance.overall')}: <${StatusBadge} value=${data.status} />
        <span class="muted"> · ${display(data.generated_at)} · key ${data.key && data.key.key_id} ${data.key && data.key.pinned ? '(pinned)' : ''}</span></p>
      <p>${t('compliance.last_verify')}: ${data.last_verify ? html`${display(data.last_verify.verified_at)} · <${StatusBadge} value=${data.last_verify.intact ? 'intact' : 'broken'} />` : html`<span class="muted">${t('compliance.never')}</span>`}</p>
      ${data.streams.length === 0 ? html`<${Empty}>${t('compliance.none')}</${Empty}>` : html`
      <table class="grid" data-testid="compliance-streams"><thead><tr><th>${t('compliance.stream')}</th><th>${t('alerts.status')}</th>
        <th>${t('compliance.presets')}</th><th>${t('compliance.reasons')}</th></tr></thead>
      <tbody>${data.streams.map((s) => html`<tr>
        <td><strong>${s.stream}</strong></td><td><${StatusBadge} value=${s.status} /></td>
        <td>${(s.presets || []).map((p) => html`<span class="tag">${typeof p === 'string' ? p : p.name || p.id}</span>`)}</td>
        <td><ul class="reasons">${s.reasons.map((r) => html`<li><${StatusBadge} value=${r.status} /> <code>${r.code}</code> ${reasonText(r)}
          ${r.detail && html`<div class="muted">${r.detail}</div>`}</li>`)}</ul></td>
      </tr>`)}</tbody></table>`}`}
    <h2>${t('compliance.review')}</h2>
    <${Review} me=${me} />
    <${Exports} me=${me} />
  </div>`;
}
