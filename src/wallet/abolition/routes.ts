/**
 * The customer's claim of their prepaid balance in abolition (残高の払い戻し, issue 19): `GET /v1/wallet/abolition`
 * (is a procedure under way, until when, the customer's claims) and `POST /v1/wallet/abolition/claims` (to their own
 * bank account). Thin adapters over abolition.ts.
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import type { WalletSession } from '../identity-port.ts';
import type { Abolition } from './abolition.ts';
import type { Claim } from './claims.ts';

const tags = ['wallet'];
const ClaimOut = Type.Object({
  claimId: Type.String(), amount: Type.String(), status: Type.String(), attempt: Type.Integer(), accountNumberLast4: Type.String(),
  failureCode: Type.Union([Type.String(), Type.Null()]), createdAt: Type.String(),
});

function claimView(claim: Claim) {
  return { claimId: claim.id, amount: claim.amountMinor.toString(), status: claim.status, attempt: claim.attempt, accountNumberLast4: claim.accountNumberLast4,
    failureCode: claim.failureCode, createdAt: claim.createdAt.toISOString() };
}

export function registerAbolitionRoutes(app: App, abolition: Abolition, guard: (request: FastifyRequest) => Promise<WalletSession>): void {
  app.get('/v1/wallet/abolition', {
    schema: { tags, summary: 'Whether the prepaid balance is being refunded (abolition), until when claims are taken, and this customer\'s claims',
      response: { 200: Type.Object({ active: Type.Boolean(), claimDeadline: Type.Union([Type.String(), Type.Null()]), claims: Type.Array(ClaimOut) }) } },
  }, async (request, reply) => {
    const { customerId } = await guard(request);
    reply.header('cache-control', 'no-store');
    const procedure = await abolition.procedure();
    return { active: procedure !== null, claimDeadline: procedure?.claimDeadline.toISOString() ?? null, claims: (await abolition.claims(customerId)).map(claimView) };
  });

  app.post('/v1/wallet/abolition/claims', {
    schema: { tags, summary: 'Claim the whole prepaid balance to the customer\'s own bank account (paid in the next batch)',
      body: Type.Object({
        bankCode: Type.String({ pattern: '^[0-9]{4}$' }), branchCode: Type.String({ pattern: '^[0-9]{3}$' }), accountNumber: Type.String({ pattern: '^[0-9]{7}$' }),
        holderNameKana: Type.String({ pattern: '^[\\u30A0-\\u30FF\\uFF65-\\uFF9F\\u3000 A-Z0-9().,/-]{1,40}$' }),
      }, { additionalProperties: false }),
      headers: Type.Object({ 'x-step-up-grant': Type.Optional(Type.String({ maxLength: 128 })) }),
      response: { 201: ClaimOut } },
  }, async (request, reply) => {
    const session = await guard(request);
    const claim = await abolition.claim(session, request.headers['x-step-up-grant'], request.body);
    reply.code(201);
    return claimView(claim);
  });
}
