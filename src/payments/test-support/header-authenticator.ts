/**
 * TEST SUPPORT ONLY. A CustomerAuthenticator that believes an `x-test-customer` header, so tests can
 * drive the customer routes before identity's real authenticator is wired in. It authenticates nothing:
 * it refuses to be constructed in production, and src/koban.ts never mounts it.
 */
import type { FastifyRequest } from 'fastify';
import type { CustomerAuthenticator, CustomerContext } from '../context.ts';

export const TEST_CUSTOMER_HEADER = 'x-test-customer';

export function createTestHeaderAuthenticator(nodeEnv: string): CustomerAuthenticator {
  if (nodeEnv === 'production') throw new Error('the test header authenticator must never run in production');
  return {
    async authenticate(request: FastifyRequest): Promise<CustomerContext | null> {
      const value = request.headers[TEST_CUSTOMER_HEADER];
      if (typeof value !== 'string' || value.length > 512) return null;
      try {
        const parsed = JSON.parse(value) as Partial<CustomerContext>;
        if (typeof parsed.customerId !== 'string' || typeof parsed.walletAccountId !== 'string' || typeof parsed.deviceId !== 'string') return null;
        return { customerId: parsed.customerId, walletAccountId: parsed.walletAccountId, deviceId: parsed.deviceId };
      } catch {
        return null;
      }
    },
  };
}

export function testCustomerHeader(ctx: CustomerContext): Record<string, string> {
  return { [TEST_CUSTOMER_HEADER]: JSON.stringify(ctx) };
}
