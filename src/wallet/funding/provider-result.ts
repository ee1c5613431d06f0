// The result every funding-provider call returns. The split that matters for money is between a definite answer
// and an unknown one: after `outcome_unknown` the provider may or may not have acted, so the caller retries with
// the same Idempotency-Key or queries the resource, and never assumes either way.
export type ProviderError =
  | {
    kind: 'rejected';
    httpStatus: number;
    // The provider's stable code, e.g. `incorrect_cvc`, `amount_too_large`, `idempotency_key_reused`.
    code: string;
    message: string;
    param: string | null;
    declineCode: string | null;
  }
  | {
    kind: 'outcome_unknown';
    reason: 'timeout' | 'network' | 'server_error' | 'rate_limited' | 'bad_response';
    httpStatus: number | null;
  };

export type ProviderResult<T> = { ok: true; value: T } | { ok: false; error: ProviderError };
