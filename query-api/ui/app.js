// logwarden's web UI: the shell (login, navigation, language, theme) and
// the router. Pages live in their own modules; every view's state is in
// the URL, so a link reproduces it.

import { html, render, useState, useEffect } from './vendor/preact-htm.js';
import { api, session } from './api.js';
import { t, initialLang, saveLang, setLang, lang } from './i18n.js';
import { ErrorBox, navigate } from './parts.js';
import { SearchPage } from './search.js';
import { AlertsPage, AlertPage } from './alerts.js';
import { RulesPage } from './rules.js';
import { CompliancePage } from './compliance.js';
import { HealthPage } from './health.js';

setLang(initialLang());

const THEME = 'logwarden.theme';
function initialTheme() {
  const chosen = localStorage.getItem(THEME);
  if (chosen === 'dark' || chosen === 'light') return chosen;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function useLocation() {
  const [where, setWhere] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setWhere(location.pathname + location.search);
    addEventListener('popstate', update);
    addEventListener('logwarden:navigate', update);
    return () => { removeEventListener('popstate', update); removeEventListener('logwarden:navigate', update); };
  }, []);
  return where;
}

const PAGES = [
  { path: '/search', label: 'nav.search', may: 'search' },
  { path: '/alerts', label: 'nav.alerts', may: 'alerts' },
  { path: '/rules', label: 'nav.rules', may: 'rules' },
  { path: '/compliance', label: 'nav.compliance', may: 'compliance' },
  { path: '/health', label: 'nav.health', may: 'status' },
];

function Login({ onLogin }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api.get('/api/v1/whoami', {}, key.trim());
      session.set(key.trim());
      onLogin(me);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <form class="card" onSubmit=${submit} data-testid="login">
      <h1>${t('login.title')}</h1>
      <p class="muted">${t('login.help')}</p>
      <label>${t('login.key')}<input type="password" name="key" autocomplete="off" value=${key}
        onInput=${(e) => setKey(e.target.value)} autofocus required /></label>
      <button type="submit" disabled=${busy}>${t('login.submit')}</button>
      ${error && html`<${ErrorBox} error=${error} />`}
    </form>
  </main>`;
}

function Shell({ me, onLogout, theme, setTheme, language, setLanguage }) {
  const where = useLocation();
  const path = where.split('?')[0];
  const page = PAGES.find((p) => path === p.path || path.startsWith(p.path + '/'));
  useEffect(() => {
    if (path === '/' || !page) {
      const first = PAGES.find((p) => me.may[p.may]);
      if (first) navigate(first.path, true);
    }
  }, [path]);
  let body = null;
  if (page && !me.may[page.may]) {
    body = html`<div class="empty" data-testid="forbidden">${t('forbidden.page', { role: me.role })}</div>`;
  } else if (path === '/search') body = html`<${SearchPage} me=${me} />`;
  else if (path === '/alerts') body = html`<${AlertsPage} me=${me} />`;
  else if (path.startsWith('/alerts/')) body = html`<${AlertPage} me=${me} id=${decodeURIComponent(path.slice(8))} />`;
  else if (path === '/rules') body = html`<${RulesPage} me=${me} />`;
  else if (path === '/compliance') body = html`<${CompliancePage} me=${me} />`;
  else if (path === '/health') body = html`<${HealthPage} me=${me} />`;
  else if (!PAGES.some((p) => me.may[p.may])) body = html`<div class="empty" data-testid="forbidden">${t('forbidden.page', { role: me.role })}</div>`;
  const go = (e, target) => { e.preventDefault(); navigate(target); };
  return html`<div class="shell">
    <header>
      <a class="brand" href="/search" onClick=${(e) => go(e, '/search')}>logwarden</a>
      <nav>${PAGES.filter((p) => me.may[p.may]).map((p) => html`
        <a href=${p.path} class=${page === p ? 'active' : ''} onClick=${(e) => go(e, p.path)}
           data-testid=${'nav-' + p.path.slice(1)}>${t(p.label)}</a>`)}</nav>
      <span class="spacer"></span>
      <span class="who" data-testid="whoami" title=${me.streams ? me.streams.join(', ') : ''}>${me.name} · ${me.role}</span>
      <button class="ghost" data-testid="lang" onClick=${() => setLanguage(language === 'ko' ? 'en' : 'ko')}>${language === 'ko' ? 'English' : '한국어'}</button>
      <button class="ghost" data-testid="theme" onClick=${() => setTheme(theme === 'dark' ? 'light' : 'dark')}>${theme === 'dark' ? t('theme.light') : t('theme.dark')}</button>
      <button class="ghost" data-testid="logout" onClick=${onLogout}>${t('logout')}</button>
    </header>
    <main key=${language}>${body}</main>
  </div>`;
}

function App() {
  const [me, setMe] = useState(null);
  const [checking, setChecking] = useState(!!session.key());
  const [error, setError] = useState(null);
  const [theme, setThemeState] = useState(initialTheme());
  const [language, setLanguageState] = useState(lang());
  useEffect(() => { document.documentElement.dataset.theme = theme; }, [theme]);
  useEffect(() => {
    if (!session.key()) return;
    api.get('/api/v1/whoami').then(setMe).catch((e) => {
      if (e.status === 401) session.clear(); else setError(e);
    }).finally(() => setChecking(false));
  }, []);
  const setTheme = (value) => { localStorage.setItem(THEME, value); setThemeState(value); };
  const setLanguage = (value) => { saveLang(value); setLang(value); setLanguageState(value); };
  const logout = () => { session.clear(); setMe(null); };
  if (checking) return html`<div class="empty">${t('loading')}</div>`;
  if (error) return html`<main class="login"><${ErrorBox} error=${error} /></main>`;
  if (!me) return html`<${Login} onLogin=${setMe} />`;
  return html`<${Shell} me=${me} onLogout=${logout} theme=${theme} setTheme=${setTheme}
    language=${language} setLanguage=${setLanguage} />`;
}

// Never a blank page: an error no view caught is shown where the page was.
function fatal(message) {
  const box = document.createElement('div');
  box.className = 'error fatal';
  box.setAttribute('role', 'alert');
  box.textContent = `${t('error.title')}: ${message}`;
  document.body.prepend(box);
}
addEventListener('error', (e) => fatal(e.message));
addEventListener('unhandledrejection', (e) => fatal(e.reason && e.reason.message ? e.reason.message : String(e.reason)));

render(html`<${App} />`, document.getElementById('app'));
