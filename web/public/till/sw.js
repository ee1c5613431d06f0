/*
 * The till's service worker (scope /till/). It keeps the app shell — the till's index.html, its hashed
 * scripts and styles under /assets/, the manifest, icons and an offline page — so a till reloaded while
 * the server or the network is down shows Koban's own "cannot reach Koban" screen with a retry, never
 * the browser's error page. Like the wallet's, it never stores an API answer: sales, sessions and
 * payments under /v1/ always go to the network, so nothing a clerk sees about money comes from a cache.
 */
const SHELL_CACHE = 'koban-till-shell-v1';
const SHELL_URLS = ['/till/', '/till/offline.html', '/till/offline.css', '/till/manifest.webmanifest', '/till/icon-192.png', '/till/icon-512.png', '/till/icon.svg'];

// The shell's own scripts and styles too (their hashed names are read from the page), so the very first
// reload without a server already has everything it needs.
async function cacheShell() {
  const cache = await caches.open(SHELL_CACHE);
  await cache.addAll(SHELL_URLS);
  const shell = await cache.match('/till/');
  const html = shell === undefined ? '' : await shell.text();
  const assets = [...new Set(html.match(/\/assets\/[A-Za-z0-9._-]+/g) ?? [])];
  await cache.addAll(assets);
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheShell().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('koban-till-') && name !== SHELL_CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

function isShellAsset(url) {
  return url.pathname.startsWith('/assets/') || SHELL_URLS.includes(url.pathname);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/v2/') || url.pathname.startsWith('/dev/')) return;

  if (request.mode === 'navigate' && url.pathname.startsWith('/till/')) {
    // Network first (a new release at once); offline, the cached shell (which says it cannot reach
    // Koban and offers a retry), and the plain offline page if even the shell is missing.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            void caches.open(SHELL_CACHE).then((cache) => cache.put('/till/', copy));
          }
          return response;
        })
        .catch(() => caches.match('/till/').then((cached) => cached ?? caches.match('/till/offline.html')).then((page) => page ?? Response.error())),
    );
    return;
  }

  if (isShellAsset(url)) {
    event.respondWith(
      caches.match(request).then((cached) => cached ?? fetch(request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          void caches.open(SHELL_CACHE).then((cache) => cache.put(request, copy));
        }
        return response;
      })),
    );
  }
});
