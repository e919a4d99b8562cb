// Browser tests of the web UI: Playwright driving Debian's chromium (no
// browser download) against a real `logwarden run` fed with loghub logs
// and the real Kafka broker (global-setup.mjs starts and stops it).
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  outputDir: './test-results',
  globalSetup: './global-setup.mjs',
  globalTeardown: './global-teardown.mjs',
  use: {
    baseURL: process.env.LOGWARDEN_UI_URL,
    viewport: { width: 1400, height: 900 },
    locale: 'en-US',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: ['--no-sandbox'],
    },
  },
});
