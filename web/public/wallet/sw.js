/*
 * The wallet's service worker (scope /wallet/). It keeps the app shell — the wallet's index.html, its
 * hashed scripts and styles under /assets/, the manifest and icons — so the wallet installs and opens
 * without a network. It never stores an API answer: balances, codes, sessions and anything under
 * /v1/ or /dev/ always go to the network (and are `no-store` anyway), so nothing a customer sees about
 * their money can come from a stale cache, and signing out leaves no account data behind.
 */
const SHELL_CACHE = 'koban-wallet-shell-v1';
const SHELL_URLS = ['/wallet/', '/wallet/manifest.webmanifest', '/wallet/icon-192.png', '/wallet/icon-512.png', '/wallet/icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL_URLS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('koban-wallet-') && name !== SHELL_CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

function isShellAsset(url) {
  return url.pathname.startsWith('/assets/') || SHELL_URLS.includes(url.pathname);
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  // Only same-origin GETs are ever considered; API and outbox requests are left to the browser.
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/v1/') || url.pathname.startsWith('/dev/')) return;

  if (request.mode === 'navigate' && url.pathname.startsWith('/wallet/')) {
    // Network first, so a new release is picked up at once; the cached shell only when offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            void caches.open(SHELL_CACHE).then((cache) => cache.put('/wallet/', copy));
          }
          return response;
        })
        .catch(() => caches.match('/wallet/').then((cached) => cached ?? Response.error())),
    );
    return;
  }

  if (isShellAsset(url)) {
    // Hashed assets never change content: cache first, fill the cache on the first fetch.
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
