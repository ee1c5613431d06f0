/**
 * Registers the wallet's service worker (web/public/wallet/sw.js, scope /wallet/). It caches the app
 * shell only, so the wallet installs and opens offline to a "no connection" state; API answers are
 * never cached (see sw.js). Registration failures are ignored: the wallet works without it.
 */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  addEventListener('load', () => {
    navigator.serviceWorker.register('/wallet/sw.js', { scope: '/wallet/' }).catch(() => undefined);
  });
}
