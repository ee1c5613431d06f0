/**
 * The customer's own entry points to a case (cases.ts `reportNotMe`: the wallet is frozen first, then a
 * case is opened or joined for operators): "this wasn't me" on any entry of their notification feed
 * (payments, top-ups, security alerts alike: one entry point), and "freeze my account" without one.
 * No step-up: freezing only ever contains, and someone who lost the account must be able to do it fast.
 * Unfreezing is an operator's decision after talking to the customer (cases/routes.ts).
 */
import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../http/app.ts';
import { KobanError } from '../../platform/errors.ts';

const tags = ['customer-security'];
const Reported = Type.Object({ caseId: Type.String(), walletFrozen: Type.Boolean() });

export interface CustomerCaseRouteDeps {
  /** Identity's session guard (CSRF token checked for POST). */
  readonly guard: (request: FastifyRequest) => Promise<{ customerId: string }>;
  /** The customer's own feed entry, or null. */
  readonly findFeedEntry: (customerId: string, entryId: string) => Promise<{ id: string; kind: string; title: string } | null>;
  readonly reportNotMe: (customerId: string, eventRef: string) => Promise<{ caseId: string; walletFrozen: boolean }>;
}

export function registerCustomerCaseRoutes(app: App, deps: CustomerCaseRouteDeps): void {
  app.post('/v1/customer/notifications/:id/not-me', {
    schema: { tags, summary: '"This wasn\'t me" on a notification: freezes the wallet at once and opens a case for operators',
      params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response: { 200: Reported } },
  }, async (request) => {
    const { customerId } = await deps.guard(request);
    const entry = await deps.findFeedEntry(customerId, request.params.id);
    if (entry === null) throw new KobanError('not_found', { detail: 'no such notification' });
    return deps.reportNotMe(customerId, `notification:${entry.id} ${entry.kind}: ${entry.title}`);
  });

  app.post('/v1/customer/freeze', {
    schema: { tags, summary: 'Freeze my wallet now (money stays; paying stops) and ask operators to look at the account',
      response: { 200: Reported } },
  }, async (request) => {
    const { customerId } = await deps.guard(request);
    return deps.reportNotMe(customerId, 'customer asked to freeze the account from the app');
  });
}
