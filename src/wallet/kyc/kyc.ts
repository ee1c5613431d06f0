/** Identity verification (eKYC) as the composition root builds it: the provider adapter from configuration. */
import type { Ledger } from '../../ledger/ledger.ts';
import type { WalletConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db/database.ts';
import { HttpIdentityVerifier, type IdentityVerifier } from './provider.ts';
import {
  readApplication, receiveEkycWebhook, reviewApplication, reviewQueue, submitVerification, verificationState,
  type CallbackOrigin, type CustomerSubmission, type KycApplication, type KycDeps,
} from './verification.ts';

export interface Kyc {
  readonly deps: KycDeps;
  submit(customerId: string, submission: CustomerSubmission): Promise<KycApplication>;
  state(customerId: string): Promise<{ verified: boolean; latest: KycApplication | null }>;
  receiveWebhook(header: string | undefined, rawBody: Buffer, origin: CallbackOrigin | null): Promise<'processed' | 'duplicate' | 'ignored'>;
  reviewQueue(query?: { limit?: number; after?: string }): ReturnType<typeof reviewQueue>;
  review(applicationId: string, decision: 'approve' | 'reject', operatorId: string, reason: string): Promise<KycApplication>;
  get(applicationId: string): Promise<KycApplication>;
}

export interface KycOptions {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly config: WalletConfig;
  readonly now: () => Date;
  readonly verifier?: IdentityVerifier | null;
  readonly reportForged?: KycDeps['reportForged'];
}

function verifierFromConfig(config: WalletConfig): IdentityVerifier | null {
  return config.ekycUrl === null || config.ekycApiKey === null ? null : new HttpIdentityVerifier({ baseUrl: config.ekycUrl, apiKey: config.ekycApiKey, timeoutMs: config.providerTimeoutMs });
}

export function createKyc(options: KycOptions): Kyc {
  const deps: KycDeps = {
    db: options.db, ledger: options.ledger, now: options.now,
    verifier: options.verifier === undefined ? verifierFromConfig(options.config) : options.verifier,
    webhookSecret: options.config.ekycWebhookSecret, webhookToleranceSec: options.config.webhookToleranceSec,
    reportForged: options.reportForged ?? null,
  };
  return {
    deps,
    submit: (customerId, submission) => submitVerification(deps, customerId, submission),
    state: (customerId) => verificationState(deps, customerId),
    receiveWebhook: (header, rawBody, origin) => receiveEkycWebhook(deps, header, rawBody, origin),
    reviewQueue: (query) => reviewQueue(deps, query),
    review: (id, decision, operatorId, reason) => reviewApplication(deps, id, decision, operatorId, reason),
    get: (id) => readApplication(deps, id),
  };
}
