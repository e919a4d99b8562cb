// Rules: the detector's loaded rules with their alert counts, the rules it
// could not load and why, and files that do not parse.

import { html } from './vendor/preact-htm.js';
import { api } from './api.js';
import { t, formatNumber } from './i18n.js';
import { ErrorBox, Empty, Loading, StatusBadge, useLoad } from './parts.js';

function Problems({ title, list, testid }) {
  if (!list.length) return null;
  return html`<h3>${title} (${list.length})</h3>
    <table class="grid" data-testid=${testid}><thead><tr><th>${t('alerts.rule')}</th><th>File</th><th>${t('rules.reason')}</th></tr></thead>
    <tbody>${list.map((p) => html`<tr><td>${p.title || p.id || '—'}</td><td><code>${p.file}</code></td><td>${p.reason}</td></tr>`)}</tbody></table>`;
}

export function RulesPage() {
  const { data, error, loading, reload } = useLoad(() => api.get('/api/v1/rules'), []);
  return html`<div class="page">
    <${ErrorBox} error=${error} onRetry=${reload} />
    ${loading && !data && html`<${Loading} />`}
    ${data && !data.configured && html`<${Empty}>${t('rules.none')}</${Empty}>`}
    ${data && data.configured && html`
      <p class="muted" data-testid="rules-summary">${t('rules.summary', { rules: data.rules.length, files: data.files, generation: data.generation })}</p>
      ${!data.up_to_date && html`<div class="error">${t('rules.stale')}</div>`}
      <h3>${t('rules.loaded')} (${data.rules.length})</h3>
      <table class="grid" data-testid="rules"><thead><tr><th>${t('alerts.rule')}</th><th>${t('alerts.level')}</th><th>${t('rules.kind')}</th>
        <th>${t('rules.logsource')}</th><th>${t('rules.alerts')}</th></tr></thead>
      <tbody>${data.rules.map((r) => html`<tr>
        <td><strong>${r.title}</strong><br /><code class="muted">${r.id}</code></td>
        <td><${StatusBadge} value=${r.level} /></td><td>${r.kind}${r.matches_no_source ? ' ⚠' : ''}</td>
        <td>${Object.entries(r.logsource || {}).map(([k, v]) => `${k}: ${v}`).join(', ')}</td>
        <td>${r.alert_counts ? `${formatNumber(r.alert_counts.last_24h)} / ${formatNumber(r.alert_counts.total)}` : '—'}</td>
      </tr>`)}</tbody></table>
      <${Problems} title=${t('rules.unsupported')} list=${data.unsupported} testid="unsupported" />
      <${Problems} title=${t('rules.errors')} list=${data.errors} testid="rule-errors" />`}
  </div>`;
}
