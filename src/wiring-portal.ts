/** The merchant portal's dependencies (src/portal), from the modules the composition root has built. */
import type { Ledger } from './ledger/ledger.ts';
import type { Operations } from './operations/operations.ts';
import type { PaymentsModule } from './payments/module.ts';
import type { Clock } from './platform/clock.ts';
import type { Config } from './platform/config.ts';
import type { Database } from './platform/db/database.ts';
import type { PortalDeps } from './portal/service.ts';

export function portalDeps(config: Config, db: Database, ledger: Ledger, payments: PaymentsModule, operations: Operations, clock: Clock): PortalDeps {
  return {
    db, ledger, box: payments.box, now: clock, payments: payments.payments, terminals: () => payments.terminals, events: payments.payments.deps.events,
    audit: operations.audit, proposals: operations.proposals, cases: operations.cases, fourEyesAboveMinor: config.payments.merchantFourEyesAboveMinor, allowHttpWebhooks: config.nodeEnv !== 'production',
    webauthn: { rpId: config.identity.webauthnRpId, rpName: config.identity.webauthnRpName, origins: config.identity.webauthnOrigins },
  };
}
