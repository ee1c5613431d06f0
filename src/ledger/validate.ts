/**
 * Shape rules for a transfer request: everything that can be decided from the request alone.
 * A request that breaks one is refused before it reaches the ledger and is not remembered (it says
 * nothing about the ledger's state, only about the caller's bug).
 */
import { KobanError, type FieldError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { hasFlag, TransferFlags, type TransferRequest } from './types.ts';

export const LEDGER_LIMITS = {
  /** Transfers in one API request (one linked group at most this long). */
  transfersPerRequestMax: 100,
  /** A hold cannot outlive a week: a forgotten hold must not lock a customer's money for ever. */
  pendingTimeoutSecondsMax: 7 * 24 * 3600,
  referenceLengthMax: 128,
} as const;

const KNOWN_FLAGS = TransferFlags.linked | TransferFlags.pending | TransferFlags.postPendingTransfer | TransferFlags.voidPendingTransfer;

export function validateTransferRequests(requests: readonly TransferRequest[], maxAmountMinor: bigint, pointer = ''): void {
  const errors: FieldError[] = [];
  if (requests.length === 0 || requests.length > LEDGER_LIMITS.transfersPerRequestMax) {
    throw new KobanError('batch_too_large', { detail: `between 1 and ${LEDGER_LIMITS.transfersPerRequestMax} transfers per request` });
  }
  requests.forEach((request, index) => errors.push(...transferRequestErrors(request, maxAmountMinor, `${pointer}/${index}`)));
  if (errors.length > 0) {
    throw new KobanError('validation_failed', { detail: errors.map((e) => `${e.pointer} ${e.message}`).join('; '), errors });
  }
}

export function transferRequestErrors(request: TransferRequest, maxAmountMinor: bigint, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const fail = (field: string, message: string): void => {
    errors.push({ pointer: `${at}/${field}`, message });
  };
  if (!isUuid(request.id)) fail('id', 'must be a UUID');
  if ((request.flags & ~KNOWN_FLAGS) !== 0 || request.flags < 0) fail('flags', 'has unknown bits');
  const pending = hasFlag(request.flags, TransferFlags.pending);
  const post = hasFlag(request.flags, TransferFlags.postPendingTransfer);
  const voids = hasFlag(request.flags, TransferFlags.voidPendingTransfer);
  if (Number(pending) + Number(post) + Number(voids) > 1) fail('flags', 'pending, post and void exclude each other');
  const resolves = post || voids;
  if (resolves && (request.pendingId === null || !isUuid(request.pendingId))) fail('pendingId', 'must be the UUID of the pending transfer');
  if (!resolves && request.pendingId !== null) fail('pendingId', 'is only for post and void');
  if (!resolves) {
    if (request.debitAccountId === null || !isUuid(request.debitAccountId)) fail('debitAccountId', 'must be a UUID');
    if (request.creditAccountId === null || !isUuid(request.creditAccountId)) fail('creditAccountId', 'must be a UUID');
    if (request.amount === null) fail('amount', 'is required');
  }
  if (request.debitAccountId !== null && request.debitAccountId === request.creditAccountId) fail('creditAccountId', 'must differ from debitAccountId');
  if (request.amount !== null && (request.amount <= 0n || request.amount > maxAmountMinor)) fail('amount', `must be from 1 to ${maxAmountMinor}`);
  if (!Number.isInteger(request.ledger) || request.ledger <= 0) fail('ledger', 'must be a positive integer');
  if (!Number.isInteger(request.code) || request.code <= 0 || request.code > 32767) fail('code', 'must be from 1 to 32767');
  if (pending && (request.timeoutSeconds < 1 || request.timeoutSeconds > LEDGER_LIMITS.pendingTimeoutSecondsMax)) {
    fail('timeoutSeconds', `a pending transfer needs a timeout from 1 to ${LEDGER_LIMITS.pendingTimeoutSecondsMax} seconds`);
  }
  if (!pending && request.timeoutSeconds !== 0) fail('timeoutSeconds', 'is only for pending transfers');
  if (request.reference !== null && request.reference.length > LEDGER_LIMITS.referenceLengthMax) fail('reference', `is longer than ${LEDGER_LIMITS.referenceLengthMax} characters`);
  return errors;
}
