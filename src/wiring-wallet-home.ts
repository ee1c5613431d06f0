/**
 * The seams behind the wallet app's home (kept apart from wiring.ts so the two grow independently):
 * identity's session guard for the history, live feed and case routes; the notification feed and
 * operations' `reportNotMe` for "this wasn't me"; payments' facts for the history.
 */
import type { Identity } from './identity/identity.ts';
import type { Ledger } from './ledger/ledger.ts';
import { findFeedEntry } from './notifications/live-feed.ts';
import type { CustomerCaseRouteDeps } from './operations/cases/customer-routes.ts';
import type { Operations } from './operations/operations.ts';
import { paymentFactsByReference, paymentLinks } from './payments/history-facts.ts';
import type { Database } from './platform/db/database.ts';
import type { WalletHistoryRouteDeps } from './wallet/history-routes.ts';

export function customerFeedAndCases(identity: Identity, db: Database, operations: Operations): CustomerCaseRouteDeps {
  return {
    guard: (request) => identity.guard(request),
    findFeedEntry: (customerId, entryId) => findFeedEntry(db.pool, customerId, entryId),
    reportNotMe: (customerId, eventRef) => operations.cases.reportNotMe(customerId, eventRef),
  };
}

export function walletHistoryDeps(identity: Identity, db: Database, ledger: Ledger): WalletHistoryRouteDeps {
  return {
    db, ledger,
    guard: (request) => identity.guard(request),
    payments: {
      byReference: (customerId, references) => paymentFactsByReference(db.pool, customerId, references),
      links: (customerId, paymentId) => paymentLinks(db.pool, customerId, paymentId),
    },
  };
}
