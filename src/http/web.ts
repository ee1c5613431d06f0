/**
 * Serves the three web apps (dist/web, built by Vite from web/) from the same server as the API:
 * /wallet/, /till/ and /console/, each a single-page app whose deep links fall back to its
 * index.html. `ensureWebBuilt` rebuilds them at start when a source is newer than the last build,
 * so `npm start` on a fresh clone serves current apps without a separate build step.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { KobanError } from '../platform/errors.ts';
import type { App } from './app.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB_SOURCE_DIR = path.join(REPO_ROOT, 'web');
// KOBAN_WEB_DIST lets parallel test runs (several checkouts' worth of work on one tree) build apart.
export const WEB_DIST_DIR = process.env.KOBAN_WEB_DIST ?? path.join(REPO_ROOT, 'dist/web');
const BUILD_STAMP = path.join(WEB_DIST_DIR, '.built');
export const WEB_APPS = ['wallet', 'till', 'console', 'merchant'] as const;

// Same-origin everything; inline styles only through the DOM (React), never markup.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
  "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "object-src 'none'",
].join('; ');

export async function ensureWebBuilt(log: (message: string) => void): Promise<boolean> {
  if (!existsSync(WEB_SOURCE_DIR)) return existsSync(BUILD_STAMP);
  if (existsSync(BUILD_STAMP) && statSync(BUILD_STAMP).mtimeMs >= newestMtime(WEB_SOURCE_DIR)) return true;
  let viteCli: string;
  try {
    viteCli = path.join(path.dirname(createRequire(import.meta.url).resolve('vite/package.json')), 'bin/vite.js');
  } catch {
    log('web apps: sources changed but Vite is not installed (npm ci installs it); serving the last build');
    return existsSync(BUILD_STAMP);
  }
  log('web apps: building (Vite)…');
  await buildForProduction(viteCli);
  writeFileSync(BUILD_STAMP, new Date().toISOString());
  return true;
}

/**
 * Always the production build, in a process of its own: Vite takes the build's kind from NODE_ENV, which is
 * `development` under `npm start` and `test` under vitest. A development build bundles React's development
 * runtime, whose StrictMode runs every effect twice — a screen that mints a one-time code minted two and the
 * second revoked the first (a flaky CI run of test/browser/cash-top-up.test.ts). Customers, `npm start` and
 * the browser tests all get what production serves.
 */
async function buildForProduction(viteCli: string): Promise<void> {
  const child = spawn(process.execPath, [viteCli, 'build', '--config', path.join(REPO_ROOT, 'vite.config.ts'), '--logLevel', 'warn'],
    { cwd: REPO_ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'inherit', 'inherit'] });
  const [code, signal] = await once(child, 'exit') as [number | null, NodeJS.Signals | null];
  if (code !== 0) throw new Error(`web apps: vite build failed (${signal ?? `exit ${code}`})`);
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * With `publicUrl`, a browser that opened an app under another host name (http://127.0.0.1:3000 when
 * the public URL is http://localhost:3000) is sent to the public one: cookies, CSRF origin checks and
 * passkeys are all bound to it.
 */
export async function registerWebApps(app: App, options: { publicUrl?: string } = {}): Promise<void> {
  if (!existsSync(BUILD_STAMP)) return;
  const publicUrl = options.publicUrl === undefined ? null : new URL(options.publicUrl);
  await app.register(fastifyStatic, {
    root: WEB_DIST_DIR,
    prefix: '/',
    wildcard: false,
    index: false,
    setHeaders: (response, filePath) => {
      if (filePath.endsWith('.html')) response.header('content-security-policy', CONTENT_SECURITY_POLICY);
      // Hashed asset names never change content: cache them for a year.
      if (filePath.includes(`${path.sep}assets${path.sep}`)) response.header('cache-control', 'public, max-age=31536000, immutable');
    },
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/wallet/'));
  // An order QR's url (POST /v2/codes): a phone's camera or a web checkout opens it; the wallet's checkout
  // page shows the order and pays it. Only a code-id-shaped segment is passed on (no open redirect).
  app.get('/qr/:codeId', { schema: { hide: true } }, async (request, reply) => {
    const { codeId } = request.params as { codeId: string };
    if (!/^[A-Za-z0-9_-]{8,64}$/.test(codeId)) throw new KobanError('not_found', { detail: 'no such order QR' });
    return reply.redirect(`/wallet/checkout/${codeId}`);
  });
  for (const name of WEB_APPS) {
    app.get(`/${name}`, { schema: { hide: true } }, async (_request, reply) => reply.redirect(`/${name}/`));
    const serveIndex = async (request: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      if (publicUrl !== null && publicUrl.port !== '0' && request.headers.host !== publicUrl.host) return reply.redirect(new URL(request.url, publicUrl).href);
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('cache-control', 'no-cache');
      return reply.sendFile(`${name}/index.html`);
    };
    app.get(`/${name}/`, { schema: { hide: true } }, serveIndex);
    app.get(`/${name}/*`, { schema: { hide: true } }, serveIndex);
  }
}
