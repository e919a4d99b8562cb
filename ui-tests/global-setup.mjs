// Starts a real pipeline for the browser tests: `logwarden run` on the
// shared broker with a topic and consumer groups of its own, tailing
// loghub's OpenSSH log (read in place) and a file the live-tail test
// appends to, with the repository's Sigma rules. Waits until every line is
// searchable, then hands the URL and the admin key to the tests through
// the environment.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..');

export default async function globalSetup() {
  const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(chromium)) {
    throw new Error(`chromium not found at ${chromium}: install it with apt-get install -y chromium fonts-noto-cjk (npx playwright install cannot download here)`);
  }
  const target = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, 'target');
  const bin = process.env.LOGWARDEN_BIN || join(target, 'debug', 'logwarden');
  if (!existsSync(bin)) throw new Error(`${bin} not found: run cargo build --bin logwarden first`);
  const loghub = process.env.LOGHUB_DIR || resolve(repo, '..', 'shared', 'data', 'loghub');
  const ssh = join(loghub, 'OpenSSH_2k.log');
  if (!existsSync(ssh)) throw new Error(`${ssh} not found: the loghub logs are read in place from ../shared/data/loghub (LOGHUB_DIR)`);
  // Lines ending in a newline: a last line without one is still being written, for a tailer.
  const lines = (readFileSync(ssh, 'utf8').match(/\n/g) || []).length;

  const dir = mkdtempSync(join(tmpdir(), 'logwarden-ui-'));
  const tail = join(dir, 'tail.log');
  writeFileSync(tail, '');
  const id = `ui${process.pid}x${Date.now().toString(36)}`;
  const config = join(dir, 'logwarden.toml');
  writeFileSync(config, [
    '[kafka]', `topic = "logwarden.${id}.events"`,
    '[indexer]', `group = "logwarden-${id}-indexer"`, `dlq_topic = "logwarden.${id}.dlq"`, 'commit_interval = "500ms"',
    '[detect]', `rules = ["${join(repo, 'rules')}"]`, `group = "logwarden-${id}-detect"`, `correlate_group = "logwarden-${id}-correlate"`,
    `notify_group = "logwarden-${id}-notify"`, `hits_topic = "logwarden.${id}.hits"`, `alerts_topic = "logwarden.${id}.alerts"`,
    `alerts_dlq_topic = "logwarden.${id}.alerts.dlq"`,
    '[api]', 'listen = "127.0.0.1:0"', '',
  ].join('\n'));

  // Keys of the other roles, made before the start (keys are read at start).
  const keyOf = (name, role) => execFileSync(bin, ['keys', 'create', '--name', name, '--role', role, '--data-dir', join(dir, 'data')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LOGWARDEN_LOG: 'warn' } }).split('\n')[0].trim();
  process.env.LOGWARDEN_UI_ANALYST_KEY = keyOf('ann', 'analyst');
  process.env.LOGWARDEN_UI_AUDITOR_KEY = keyOf('audrey', 'auditor');

  const child = spawn(bin, ['run', '--config', config, '--data-dir', join(dir, 'data'), '--input', ssh, '--input', tail], {
    cwd: repo,
    env: { ...process.env, LOGWARDEN_KAFKA_BROKERS: process.env.LOGWARDEN_KAFKA_BROKERS || '127.0.0.1:9092', LOGWARDEN_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error('logwarden run did not serve the query API within 120 s')), 120_000);
    child.on('exit', (code) => fail(new Error(`logwarden run exited with ${code} before serving`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const found = /query API listening on (\S+)/.exec(line);
      if (found) { clearTimeout(timer); done(found[1]); }
    });
  });
  const key = readFileSync(join(dir, 'data', 'admin.key'), 'utf8').trim();
  // Every line of the file searchable.
  const started = Date.now();
  for (;;) {
    const r = await fetch(`${url}/api/v1/search?q=*&limit=1`, { headers: { Authorization: `Bearer ${key}` } }).catch(() => null);
    const total = r && r.ok ? (await r.json()).total : 0;
    if (total >= lines) break;
    if (Date.now() - started > 180_000) throw new Error(`only ${total} of ${lines} loghub lines searchable after 180 s`);
    await new Promise((ok) => setTimeout(ok, 500));
  }
  process.env.LOGWARDEN_UI_URL = url;
  process.env.LOGWARDEN_UI_KEY = key;
  process.env.LOGWARDEN_UI_TAIL = tail;
  process.env.LOGWARDEN_UI_LINES = String(lines);
  globalThis.logwardenPipeline = { child, dir };
  writeFileSync(join(here, '.pipeline.json'), JSON.stringify({ pid: child.pid, dir }));
}
