/**
 * The customer's points over HTTP (issue 19): `GET /v1/wallet/points` — the balance and when it expires.
 * A thin adapter over promotions.ts.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import type { Promotions } from './promotions.ts';

export function registerPointsRoutes(app: App, promotions: Promotions, guard: (request: FastifyRequest) => Promise<{ customerId: string }>): void {
  app.get('/v1/wallet/points', {
    schema: { tags: ['wallet'], summary: 'The customer\'s points (cashback of campaigns, spent first) and their next expiries',
      response: { 200: Type.Object({ balance: Type.String(), expiring: Type.Array(Type.Object({ expiresAt: Type.String(), amount: Type.String() })) }) } },
  }, async (request, reply) => {
    const { customerId } = await guard(request);
    reply.header('cache-control', 'no-store');
    const view = await promotions.points(customerId);
    return { balance: view.balanceMinor.toString(), expiring: view.expiring.map((e) => ({ expiresAt: e.expiresAt.toISOString(), amount: e.amountMinor.toString() })) };
  });
}
