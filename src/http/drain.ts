/**
 * Graceful drain (issue 18): a node told to stop first says so to its load balancer, then stops. From
 * `begin()` on, `/readyz` answers 503 (`reason: draining`), so HAProxy takes the node out of rotation after
 * its next failed checks, while requests that still arrive are served — each answered with `Connection:
 * close`, so a client or a TCP-mode balancer holding a kept-alive connection opens a new one, which goes to
 * another node. After KOBAN_DRAIN_DELAY_MS the listeners close and in-flight requests finish
 * (src/http/shutdown.ts bounds the whole by KOBAN_SHUTDOWN_GRACE_MS).
 */
import type { FastifyInstance } from 'fastify';

export interface Drain {
  readonly draining: boolean;
  begin(): void;
  /** Adds the `Connection: close` hook to a listener; before it is ready. */
  attach(app: FastifyInstance): void;
}

export function createDrain(): Drain {
  let draining = false;
  return {
    get draining() { return draining; },
    begin() { draining = true; },
    attach(app) {
      app.addHook('onSend', async (_request, reply, payload) => {
        if (draining) reply.header('connection', 'close');
        return payload;
      });
    },
  };
}
