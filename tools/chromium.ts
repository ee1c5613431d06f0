/**
 * Browser tests drive Debian's Chromium through playwright-core (never a downloaded browser: this
 * network reaches only package registries). When it is missing, a root test run installs it from
 * Debian's packages; any other run stops with the command to run. The suite is never skipped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = process.env.KOBAN_CHROMIUM ?? '/usr/bin/chromium';

// Without a Japanese font, the wallet's default language renders as empty boxes in screenshots.
const JAPANESE_FONT = '/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf';

export function ensureChromium(log: (message: string) => void): void {
  if (existsSync(CHROMIUM_PATH) && existsSync(JAPANESE_FONT)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(`Chromium or the Japanese font is missing. Install them with: sudo apt-get install chromium fonts-ipafont-gothic (or set KOBAN_CHROMIUM)`);
  }
  log('browser tests: installing Debian chromium and a Japanese font (apt-get)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium', 'fonts-ipafont-gothic'], { stdio: 'inherit', env });
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get finished but ${CHROMIUM_PATH} is still missing`);
}

/** Flags for a root, offline machine: no sandbox (root), no background network chatter. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];
