/** Mounts the customer identity API (/v1/customer/...) on the shared HTTP app. */
import cookie from '@fastify/cookie';
import type { App } from '../../http/app.ts';
import type { Identity } from '../identity.ts';
import { registerAccountRoutes } from './account-routes.ts';
import { registerContactRoutes } from './contact-routes.ts';
import { checkBrowserOrigin } from './guard.ts';
import { registerRecoveryRoutes } from './recovery-routes.ts';
import { registerSecurityRoutes } from './security-routes.ts';

export async function registerIdentityRoutes(app: App, identity: Identity, publicUrl: string): Promise<void> {
  // Global (fastify-plugin): other modules read the same session cookie through identity.guard.
  await app.register(cookie);
  const originCheck = checkBrowserOrigin(new URL(publicUrl).origin);
  app.addHook('onRequest', async (request) => {
    if (request.url.startsWith('/v1/customer/')) await originCheck(request);
  });
  app.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith('/v1/customer/')) {
      reply.header('cache-control', 'no-store');
      reply.header('referrer-policy', 'no-referrer');
    }
  });
  registerAccountRoutes(app, identity);
  registerSecurityRoutes(app, identity);
  registerRecoveryRoutes(app, identity, publicUrl);
  registerContactRoutes(app, identity, publicUrl);
}
