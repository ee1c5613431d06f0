/** What every payments function is given: built once in service.ts. */
import type pg from 'pg';
import type { Ledger } from '../ledger/ledger.ts';
import type { PaymentsConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import type { PaymentHooks } from './context.ts';

export type MerchantEventType = 'payment.completed' | 'payment.failed' | 'payment.canceled' | 'refund.completed' | 'refund.failed';

export interface MerchantEvent {
  readonly type: MerchantEventType;
  readonly merchantId: string;
  /** The webhook body's `data`; plain JSON (amounts already integers). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** Records merchant events inside the caller's transaction (the transactional outbox, webhooks/outbox.ts). */
export interface MerchantEventSink {
  record(client: pg.PoolClient, event: MerchantEvent): Promise<void>;
}

export interface Logger {
  error(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface PaymentsDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly config: PaymentsConfig;
  readonly hooks: PaymentHooks;
  /** HMAC key for payment codes (derived from KOBAN_SECRET_KEY). */
  readonly pepper: Buffer;
  readonly events: MerchantEventSink;
  readonly now: () => Date;
  readonly log: Logger;
}
