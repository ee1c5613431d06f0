/**
 * `npm run screenshots [name...]`: refreshes the README's screenshots (docs/screens/*.png).
 *
 * The pictures are taken by the browser tests themselves (`screenshot(page, name)` in test/browser, saved
 * in test-results/screens/), so a screenshot always shows a screen a test just drove and checked. This runs
 * the tests that take the listed screens, through `npm test` (a throwaway PostgreSQL, Debian's Chromium), and
 * copies each picture into docs/screens/. It stops with an error if a test fails or a picture is missing.
 * With names, only those screens (and their tests) are refreshed.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const TAKEN = path.join(ROOT, 'test-results/screens');
const DOCS = path.join(ROOT, 'docs/screens');

/** Each README screenshot and the browser test that takes it. */
export const SCREENS: Readonly<Record<string, string>> = {
  'wallet-pay-code': 'test/browser/daily-use.test.ts',
  'wallet-paid': 'test/browser/daily-use.test.ts',
  'till-server-down': 'test/browser/daily-use.test.ts',
  'console-dashboard-stale': 'test/browser/daily-use.test.ts',
  'wallet-home': 'test/browser/wallet-money.test.ts',
  'wallet-receipt': 'test/browser/wallet-receipts.test.ts',
  'wallet-tab-bar': 'test/browser/wallet-receipts.test.ts',
  'wallet-sign-up-passkey': 'test/browser/wallet-account.test.ts',
  'till-charge-success': 'test/browser/till.test.ts',
  'till-dynamic-qr': 'test/browser/till.test.ts',
  'till-sales': 'test/browser/till.test.ts',
  'till-receipt-qr': 'test/browser/till.test.ts',
  'receipt-public': 'test/browser/till.test.ts',
  'console-dashboard': 'test/browser/console-desk.test.ts',
  'console-case': 'test/browser/console-desk.test.ts',
  'console-search': 'test/browser/console-control.test.ts',
  'console-switches-tree': 'test/browser/console-control.test.ts',
  'console-compensation-pick': 'test/browser/console-control.test.ts',
  'console-merchant-review': 'test/browser/merchant-portal.test.ts',
  'merchant-stores': 'test/browser/merchant-portal.test.ts',
  'merchant-payment': 'test/browser/merchant-portal.test.ts',
  'merchant-sales': 'test/browser/merchant-portal.test.ts',
};

function main(names: string[]): number {
  const unknown = names.filter((name) => SCREENS[name] === undefined);
  if (unknown.length > 0) {
    console.error(`unknown screenshot(s): ${unknown.join(', ')}; known: ${Object.keys(SCREENS).join(', ')}`);
    return 2;
  }
  const wanted = names.length > 0 ? names : Object.keys(SCREENS);
  const tests = [...new Set(wanted.map((name) => SCREENS[name] ?? ''))];
  const startedAtMs = Date.now();
  const run = spawnSync(process.execPath, [path.join(ROOT, 'tools/test-runner.ts'), ...tests], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) {
    console.error('screenshots: a browser test failed; docs/screens/ left as it was');
    return run.status ?? 1;
  }
  // Only pictures this run took: an old one left in test-results/ must not pass for fresh.
  const stale = wanted.filter((name) => {
    const file = path.join(TAKEN, `${name}.png`);
    return !existsSync(file) || statSync(file).mtimeMs < startedAtMs;
  });
  if (stale.length > 0) {
    console.error(`screenshots: not taken by this run: ${stale.join(', ')}`);
    return 1;
  }
  for (const name of wanted) copyFileSync(path.join(TAKEN, `${name}.png`), path.join(DOCS, `${name}.png`));
  console.log(`screenshots: ${wanted.length} refreshed in docs/screens/`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
