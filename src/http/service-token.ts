import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { KobanError } from '../platform/errors.ts';

/**
 * A preHandler that admits only `Authorization: Bearer <token>`. Both sides are hashed first so the
 * comparison is constant-time whatever the lengths.
 */
export function requireBearerToken(token: string): (request: FastifyRequest) => Promise<void> {
  const expected = sha256(token);
  return async (request) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
    if (match?.[1] === undefined || !timingSafeEqual(sha256(match[1]), expected)) {
      throw new KobanError('unauthenticated', { detail: 'a valid bearer token is required' });
    }
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
