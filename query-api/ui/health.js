// Pipeline health (GET /api/v1/status, refreshed every 10 s): Kafka,
// consumer lag per partition, dead letters, ingest rate per stream, spools,
// seals and the last full verify.

import { html, useEffect } from './vendor/preact-htm.js';
import { api } from './api.js';
import { t, formatNumber } from './i18n.js';
import { ErrorBox, Loading, StatusBadge, useLoad } from './parts.js';
import { display } from './time.js';

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function HealthPage() {
  const { data, error, loading, reload } = useLoad(() => api.get('/api/v1/status'), []);
  useEffect(() => { const timer = setInterval(reload, 10000); return () => clearInterval(timer); }, []);
  return html`<div class="page health">
    <${ErrorBox} error=${error} onRetry=${reload} />
    ${loading && !data && html`<${Loading} />`}
    ${data && html`
      <section class="card"><h3>${t('health.kafka')}</h3>
        <p data-testid="kafka"><${StatusBadge} value=${data.kafka.reachable ? t('health.reachable') : t('health.unreachable')} />
          <code>${data.kafka.brokers}</code> · <code>${data.kafka.topic}</code> ${data.kafka.error && html`<span class="muted">${data.kafka.error}</span>`}</p>
        <p class="muted">${display(data.generated_at)}</p></section>
      <section class="card"><h3>${t('health.lag')}</h3>
        ${data.consumer_groups.map((g) => html`<h4>${g.group} — ${formatNumber(g.total_lag)}</h4>
          <table class="grid" data-testid="lag"><thead><tr><th>${t('health.partition')}</th><th>${t('health.committed')}</th><th>${t('health.high')}</th><th>${t('health.lag.col')}</th></tr></thead>
          <tbody>${g.partitions.map((p) => html`<tr><td>${p.partition}</td><td>${p.committed === null ? '—' : formatNumber(p.committed)}</td>
            <td>${formatNumber(p.high_watermark)}</td><td class=${p.lag > 0 ? 'warn' : ''}>${formatNumber(p.lag)}</td></tr>`)}</tbody></table>`)}</section>
      <section class="card"><h3>${t('health.ingest')}</h3>
        ${data.ingest.streams.every((s) => s.last_window === 0) && html`<p class="muted">${t('health.no_ingest')}</p>`}
        <table class="grid" data-testid="ingest"><thead><tr><th>${t('search.stream')}</th><th>${t('health.per_second', { window: data.ingest.window_seconds + ' s' })}</th><th>${t('health.last_1m')}</th></tr></thead>
        <tbody>${data.ingest.streams.map((s) => html`<tr><td>${s.stream}</td><td>${s.per_second.toFixed(2)}</td><td>${formatNumber(s.last_1m)}</td></tr>`)}</tbody></table></section>
      <section class="card"><h3>${t('health.dlq')}</h3>
        <ul>${data.dead_letters.map((d) => html`<li><code>${d.topic}</code>: ${d.messages === null ? html`<span class="muted">${t('health.dlq.none')}</span>` : html`<strong class=${d.messages > 0 ? 'warn' : ''}>${formatNumber(d.messages)}</strong>`}</li>`)}</ul></section>
      <section class="card"><h3>${t('health.spool')}</h3>
        ${data.spools.map((s) => html`<div class="spool"><span>${s.name}</span>
          <meter min="0" max=${s.max_bytes} value=${s.used_bytes}></meter>
          <span class="muted">${bytes(s.used_bytes)} / ${bytes(s.max_bytes)} · ${s.segments}</span></div>`)}</section>
      <section class="card"><h3>${t('health.seals')}</h3>
        <p>${t('health.last_seal')}: ${data.seals.last_sealed_at ? display(data.seals.last_sealed_at) : t('health.never')} · ${t('health.open_splits', { n: data.seals.open_splits })}</p>
        <table class="grid"><tbody>${data.seals.partitions.map((p) => html`<tr><td>${p.stream}</td><td>p${p.partition}</td><td><code>${p.split_id}</code></td>
          <td>${display(p.sealed_at)}</td><td>${p.seal_reason}</td><td>${formatNumber(p.event_count)}</td></tr>`)}</tbody></table></section>
      <section class="card"><h3>${t('health.verify')}</h3>
        <p>${data.last_verify ? html`${display(data.last_verify.verified_at)} · <${StatusBadge} value=${data.last_verify.intact ? 'intact' : 'broken'} /> · ${formatNumber(data.last_verify.manifests)} manifests` : html`<span class="muted">${t('compliance.never')}</span>`}</p></section>
      ${data.problems.length > 0 && html`<section class="card"><h3>${t('health.problems')}</h3><ul>${data.problems.map((p) => html`<li>${p}</li>`)}</ul></section>`}`}
  </div>`;
}
