// Stops the pipeline global-setup.mjs started and removes its data.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export default async function globalTeardown() {
  const file = join(here, '.pipeline.json');
  if (!existsSync(file)) return;
  const { pid, dir } = JSON.parse(readFileSync(file, 'utf8'));
  try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  for (let i = 0; i < 100; i += 1) {
    try { process.kill(pid, 0); } catch { break; }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(file, { force: true });
}
