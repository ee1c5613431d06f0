/**
 * A TCP proxy between Koban and PostgreSQL that the harness can break on demand:
 *   - blackhole: every byte in either direction is held (sockets paused), new connections are accepted and
 *     never forwarded — what a network partition looks like to both ends, until heal();
 *   - reset: every open connection is torn down with a TCP RST on both sides, as a dropped link or a
 *     firewall restart would.
 */
import net from 'node:net';
import { once } from 'node:events';

export interface FaultProxy {
  readonly port: number;
  blackhole(): void;
  heal(): void;
  /** Resets every open connection; answers how many pairs were cut. */
  reset(): number;
  readonly openConnections: number;
  close(): Promise<void>;
}

interface Pair { readonly client: net.Socket; readonly upstream: net.Socket }

export async function startFaultProxy(options: { host: string; port: number; upstreamHost: string; upstreamPort: number }): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let holding = false;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: options.upstreamHost, port: options.upstreamPort });
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    if (holding) hold(pair);
    const drop = (): void => {
      if (!pairs.delete(pair)) return;
      // One side went away: the other must learn it the same way, so reset rather than end politely.
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  server.listen(options.port, options.host);
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole() {
      holding = true;
      for (const pair of pairs) hold(pair);
    },
    heal() {
      holding = false;
      for (const pair of pairs) release(pair);
    },
    reset() {
      const cut = pairs.size;
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        pair.client.resetAndDestroy();
        pair.upstream.resetAndDestroy();
      }
      return cut;
    },
    get openConnections() {
      return pairs.size;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      pairs.clear();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Pausing the readable sides stops the pipes: bytes wait in the kernel buffers, as on a partitioned link. */
function hold(pair: Pair): void {
  pair.client.unpipe(pair.upstream);
  pair.upstream.unpipe(pair.client);
  pair.client.pause();
  pair.upstream.pause();
}

function release(pair: Pair): void {
  pair.client.pipe(pair.upstream);
  pair.upstream.pipe(pair.client);
  pair.client.resume();
  pair.upstream.resume();
}
