/**
 * The operations module's composition: audit log and sealer, kill switches, and (as they land)
 * operators, cases, proposals and compensation. `src/koban.ts` creates one per process.
 */
import type { BackgroundJobs } from '../platform/leases.ts';
import type { OperationsConfig } from '../platform/config.ts';
import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { createAuditLog, type AuditLog } from './audit/audit-log.ts';
import { sealPending } from './audit/sealer.ts';
import { createChangeFeed, type ChangeFeed } from './change-feed.ts';
import { createSwitches, type Switches } from './switches/switches.ts';
import { createOperators, type Operators } from './operators/operators.ts';
import { createOperatorPasskeys, type OperatorPasskeys, type OperatorWebAuthnSettings } from './operators/passkeys.ts';
import { createBreakGlass, type BreakGlass } from './operators/break-glass.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { required, type OperationsAdapters } from './adapters.ts';
import { createCases, type Cases } from './cases/cases.ts';
import { createCompensation, type Compensation } from './compensation/compensation.ts';
import { createIncident, type Incident } from './incident.ts';
import { createProposals, type Proposals } from './proposals/proposals.ts';
import type { SignInHealth } from '../identity/sign-in-health.ts';

export interface Operations {
  readonly db: Database;
  readonly audit: AuditLog;
  readonly operators: Operators;
  /** Operators' passkeys (the sign-in for work) and break-glass with four eyes (issue 14). */
  readonly operatorPasskeys: OperatorPasskeys;
  readonly breakGlass: BreakGlass;
  readonly cases: Cases;
  readonly proposals: Proposals;
  readonly compensation: Compensation;
  readonly incident: Incident;
  readonly switches: Switches;
  readonly changes: ChangeFeed;
  /** Platform-wide sign-in health from identity (issue 13); 503 until identity is connected. */
  signInHealth(): Promise<SignInHealth>;
  /** The audit sealer: off the request path, on the one node holding its lease, fenced by it. */
  startBackgroundWork(jobs: BackgroundJobs): void;
  close(): Promise<void>;
}

export interface OperationsDependencies {
  readonly config: OperationsConfig;
  readonly db: Database;
  readonly ledger: Ledger;
  readonly adapters: OperationsAdapters;
  readonly onError: (error: unknown, what: string) => void;
  /** The one clock (src/platform/clock.ts); the system clock unless the composition root injects another. */
  readonly clock?: Clock;
  /** The relying party operators' passkeys belong to (identity's: the same origin serves the console). */
  readonly webauthn: OperatorWebAuthnSettings;
}

export async function createOperations(deps: OperationsDependencies): Promise<Operations> {
  const { config, db } = deps;
  const audit = createAuditLog(db);
  const changes = createChangeFeed(db, { intervalMs: config.switchPollIntervalMs, onError: (error) => deps.onError(error, 'settings reload') });
  const switches = await createSwitches(db, changes);
  // Switches are obeyed whether or not background work runs: a process that serves requests must see changes.
  changes.start();
  const operatorOptions = { secret: config.operatorSecret, idleTimeoutMs: config.operatorIdleTimeoutMs, absoluteTimeoutMs: config.operatorAbsoluteTimeoutMs,
    enrolmentWindowMs: config.operatorPasskeyEnrolmentWindowMs, ...(deps.clock === undefined ? {} : { clock: deps.clock }) };
  const operators = createOperators(db, operatorOptions);
  const operatorPasskeys = createOperatorPasskeys(db, { webauthn: deps.webauthn, absoluteTimeoutMs: config.operatorAbsoluteTimeoutMs, ...(deps.clock === undefined ? {} : { clock: deps.clock }) });
  const breakGlass = createBreakGlass(db, operatorOptions);
  const proposals = createProposals(db);
  const cases = createCases(db, deps.ledger, deps.adapters);
  const compensation = createCompensation(db, deps.ledger, proposals, () => required(deps.adapters.wallets, 'the customer wallet directory'));
  const incident = createIncident(db, proposals, deps.adapters);
  return {
    db, audit, operators, operatorPasskeys, breakGlass, switches, changes, cases, proposals, compensation, incident,
    signInHealth: () => {
      const read = deps.adapters.identity?.signInHealth;
      return required(read, 'platform sign-in health').call(deps.adapters.identity);
    },
    startBackgroundWork(jobs) {
      jobs.run('operations.audit-seal', config.auditSealIntervalMs, (fence) => sealPending(db, { beforeCommit: (client) => fence.check(client) }));
    },
    async close() {
      await changes.close();
    },
  };
}


