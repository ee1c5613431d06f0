/**
 * The wallet's request headers read the same way on every wallet route (top-ups, funding sources, sends,
 * requests, withdrawals): the step-up grant and the Idempotency-Key, refused with one problem shape.
 */
import type { FastifyRequest } from 'fastify';
import { KobanError } from '../platform/errors.ts';

export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,128}$/;

export function grantOf(request: FastifyRequest): string | undefined {
  const value = request.headers['x-step-up-grant'];
  return typeof value === 'string' ? value : undefined;
}

export function idempotencyKeyOf(request: FastifyRequest): string {
  const value = request.headers['idempotency-key'];
  if (value === undefined) throw new KobanError('idempotency_key_required', { errors: [{ pointer: '/headers/idempotency-key', message: 'is required' }] });
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw new KobanError('validation_failed', { errors: [{ pointer: '/headers/idempotency-key', message: `must match ${IDEMPOTENCY_KEY.source}` }] });
  }
  return value;
}
