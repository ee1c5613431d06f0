// The eKYC provider over HTTP (the sandbox in development: sandbox/ekyc): bounded, schema-checked answers;
// `outcome_unknown` is never read as yes or no (provider-http.ts).
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { isoMs, pathId, ProviderClient, type ProviderClientOptions } from '../funding/provider-http.ts';
import type { ProviderResult } from '../funding/provider-result.ts';

export type ProviderVerificationStatus = 'pending' | 'approved' | 'rejected' | 'needs_review';

export interface ProviderVerification {
  readonly id: string;
  /** Koban's application id, as Koban sent it. */
  readonly reference: string;
  readonly status: ProviderVerificationStatus;
  readonly reason: string | null;
  readonly decidedAtMs: number | null;
}

export interface VerificationSubmission {
  readonly reference: string;
  readonly fullName: string;
  readonly dateOfBirth: string;
  readonly address: string;
  readonly documentRef: string;
  readonly selfieRef: string;
}

/** The port the wallet's verification flow uses; tests may plug another provider in. */
export interface IdentityVerifier {
  submit(request: VerificationSubmission & { idempotencyKey: string }): Promise<ProviderResult<ProviderVerification>>;
  get(id: string): Promise<ProviderResult<ProviderVerification>>;
}

const WireTime = Type.String({ format: 'date-time' });
const checkVerification = Compile(Type.Object({
  id: Type.String({ pattern: '^kyc_[A-Za-z0-9_-]{1,64}$' }),
  reference: Type.String({ maxLength: 200 }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('needs_review')]),
  reason: Type.Union([Type.String({ maxLength: 200 }), Type.Null()]),
  createdAt: WireTime,
  decidedAt: Type.Union([WireTime, Type.Null()]),
}));

function decode(json: unknown): ProviderVerification | undefined {
  if (!checkVerification.Check(json)) return undefined;
  return { id: json.id, reference: json.reference, status: json.status, reason: json.reason, decidedAtMs: json.decidedAt === null ? null : isoMs(json.decidedAt) };
}

export class HttpIdentityVerifier implements IdentityVerifier {
  readonly #client: ProviderClient;

  constructor(options: ProviderClientOptions) {
    this.#client = new ProviderClient(options);
  }

  submit(request: VerificationSubmission & { idempotencyKey: string }): Promise<ProviderResult<ProviderVerification>> {
    const { idempotencyKey, ...body } = request;
    return this.#client.request({ method: 'POST', path: '/v1/verifications', idempotencyKey, body }, decode);
  }

  get(id: string): Promise<ProviderResult<ProviderVerification>> {
    return this.#client.request({ method: 'GET', path: `/v1/verifications/${pathId(id)}` }, decode);
  }
}
