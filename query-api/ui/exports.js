// Compliance exports: the exports recorded in the audit stream
// (GET /api/v1/exports), a new export (POST /api/v1/exports, downloaded
// as its tar) and a bundle checked by the server (POST
// /api/v1/exports/verify, the checks of `logwarden verify BUNDLE`).
// Shown to keys that may export (admin, auditor).

import { html, useState } from './vendor/preact-htm.js';
import { api } from './api.js';
import { t, formatNumber } from './i18n.js';
import { ErrorBox, Empty, Loading, StatusBadge, useLoad } from './parts.js';
import { display } from './time.js';

function short(sha) {
  return sha ? sha.slice(0, 12) : '—';
}

/** Hands `blob` to the browser as a download named `name`. */
function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function NewExport({ onDone }) {
  const now = new Date();
  const [form, setForm] = useState({
    stream: '', from: new Date(now - 24 * 3600 * 1000).toISOString(), to: now.toISOString(), query: '', reason: '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const field = (name) => (e) => setForm({ ...form, [name]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    setBusy(true);
    try {
      const body = { stream: form.stream.trim(), from: form.from.trim(), to: form.to.trim(), reason: form.reason.trim() };
      if (form.query.trim()) body.query = form.query.trim();
      const file = await api.postForFile('/api/v1/exports', body);
      save(file.blob, file.name);
      setDone(file);
      onDone();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return html`<form class="export-form" data-testid="new-export" onSubmit=${submit}>
    <label>${t('exports.stream')} <input name="stream" required value=${form.stream} onInput=${field('stream')} placeholder="auth" /></label>
    <label>${t('time.from')} <input name="from" required value=${form.from} onInput=${field('from')} /></label>
    <label>${t('time.to')} <input name="to" required value=${form.to} onInput=${field('to')} /></label>
    <label>${t('exports.query')} <input name="query" value=${form.query} onInput=${field('query')} placeholder=${t('exports.query.hint')} /></label>
    <label>${t('exports.reason')} <input name="reason" required value=${form.reason} onInput=${field('reason')} /></label>
    <button type="submit" disabled=${busy} data-testid="export-submit">${busy ? t('loading') : t('exports.create')}</button>
    <${ErrorBox} error=${error} />
    ${done && html`<p class="muted" data-testid="export-done">${t('exports.downloaded', { name: done.name, sha: short(done.sha256) })}</p>`}
  </form>`;
}

function VerifyResult({ result }) {
  const report = result.report;
  const p = report.predicate;
  const key = result.key;
  const keyText = key.matches
    ? t(key.trusted === 'pinned' ? 'exports.key.pinned' : 'exports.key.store', { id: key.key_id })
    : t('exports.key.other', { id: key.key_id || '—', trusted: key.trusted_key_id || '—' });
  const checks = [
    [t('exports.check.files'), report.files],
    [t('exports.check.manifests'), report.manifests_verified],
    [t('exports.check.splits'), report.splits_verified],
    [t('exports.check.records'), report.records_verified],
    [t('exports.check.proven'), report.records_proven],
    [t('exports.check.empty'), report.empty_windows],
    [t('exports.check.deleted'), report.deleted_splits],
  ];
  return html`<div class=${'verify-result ' + (result.intact ? 'intact' : 'broken')} data-testid="verify-result" data-intact=${String(result.intact)}>
    <p><${StatusBadge} value=${result.intact ? 'intact' : 'broken'} />${' '}${result.intact ? t('exports.intact') : html`${t('exports.broken')} <strong data-testid="first-broken"><code>${result.first_broken.item}</code></strong>: ${result.first_broken.what}`}</p>
    ${p && html`<p class="muted">${t('exports.bundle', { stream: p.stream, from: p.from, to: p.to, records: formatNumber(p.records) })}${p.query ? html` · <code>${p.query}</code>` : ''}</p>`}
    <p><${StatusBadge} value=${key.matches ? 'intact' : 'broken'} /> ${keyText}</p>
    <table class="grid" data-testid="verify-checks"><tbody>${checks.map(([name, n]) => html`<tr><th>${name}</th><td>${formatNumber(n || 0)}</td></tr>`)}</tbody></table>
    ${report.inclusion && report.inclusion.length > 0 && html`<ul class="reasons">${report.inclusion.map((s) => html`<li>
      <code>${s.records}</code>: ${t('exports.proofs', { proven: s.proven.length, size: s.tree_size, seq: s.seq })}${s.failed.length > 0 ? html` · <span class="bad">${t('exports.proofs.failed', { n: s.failed.length })}</span>` : ''}</li>`)}</ul>`}
    ${report.problems.length > 0 && html`<ul class="reasons" data-testid="problems">${report.problems.map((x) => html`<li><code>${x.item}</code> ${x.what}</li>`)}</ul>`}
  </div>`;
}

function VerifyBundle() {
  const [state, setState] = useState({ busy: false, error: null, result: null, name: null });
  const pick = async (e) => {
    const file = e.target.files && e.target.files[0];
    if (!file) return;
    setState({ busy: true, error: null, result: null, name: file.name });
    try {
      const result = await api.upload('/api/v1/exports/verify', file);
      setState({ busy: false, error: null, result, name: file.name });
    } catch (err) {
      setState({ busy: false, error: err, result: null, name: file.name });
    }
    e.target.value = '';
  };
  return html`<div data-testid="verify-bundle">
    <label>${t('exports.verify.pick')} <input type="file" accept=".tar,application/x-tar" data-testid="verify-file" onChange=${pick} /></label>
    <p class="muted">${t('exports.verify.help')}</p>
    ${state.busy && html`<${Loading} />`}
    <${ErrorBox} error=${state.error} />
    ${state.result && html`<p class="muted">${state.name}</p><${VerifyResult} result=${state.result} />`}
  </div>`;
}

function ExportList({ tick }) {
  const { data, error, loading, reload } = useLoad(() => api.get('/api/v1/exports', { limit: 50 }), [tick]);
  return html`<div>
    ${loading && !data && html`<${Loading} />`}
    <${ErrorBox} error=${error} onRetry=${reload} />
    ${data && (data.exports.length === 0 ? html`<${Empty} testid="exports-empty">${t('exports.none')}</${Empty}>` : html`
    <table class="grid" data-testid="exports"><thead><tr><th>${t('time')}</th><th>${t('exports.who')}</th><th>${t('exports.stream')}</th>
      <th>${t('exports.range')}</th><th>${t('exports.query')}</th><th>${t('exports.records')}</th><th>${t('exports.digest')}</th></tr></thead>
    <tbody>${data.exports.map((x) => html`<tr>
      <td>${display(x.when)}</td><td>${x.who || '—'} <span class="tag">${x.via}</span>${x.reason ? html`<div class="muted">${x.reason}</div>` : ''}</td>
      <td>${x.stream}</td><td>${x.from} → ${x.to}</td><td>${x.query ? html`<code>${x.query}</code>` : '—'}</td>
      <td>${x.records === null ? '—' : formatNumber(x.records)}</td><td><code title=${x.bundle_sha256 || ''}>${short(x.bundle_sha256)}</code></td>
    </tr>`)}</tbody></table>`)}
  </div>`;
}

/** The Compliance page's exports: listed, made and verified. */
export function Exports({ me }) {
  const [tick, setTick] = useState(0);
  if (!me.may.export) return null;
  return html`<div data-testid="exports-section">
    <h2>${t('exports.title')}</h2>
    <${ExportList} tick=${tick} />
    <h3>${t('exports.new')}</h3>
    <${NewExport} onDone=${() => [0, 2000, 5000, 10_000, 20_000].forEach((ms) => setTimeout(() => setTick((n) => n + 1), ms))} />
    <h3>${t('exports.verify')}</h3>
    <${VerifyBundle} />
  </div>`;
}
