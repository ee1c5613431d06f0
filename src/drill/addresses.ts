/**
 * Source addresses. Koban trusts no proxy header: the client IP is the socket's peer. On loopback every
 * 127.x.y.z address is the machine itself (Linux routes all of 127.0.0.0/8 to lo), so binding the
 * outgoing socket to different ones makes the drill's clients look like different hosts and /24
 * networks: ordinary customers in 127.10.<i>.0/24 (one household each), victims' homes in 127.20.<i>.0/24,
 * the attacker's block 127.66.0.0/16 (one /24 per rented network), the stores' tills in 127.30.0.0/24.
 * Against a host that is not on loopback the drill cannot choose its addresses: every client then comes
 * from this machine's one address, and the report says so.
 */
import { createServer, connect } from 'node:net';

export interface AddressPlan {
  readonly spread: boolean;
  ordinary(index: number): string | null;
  victimHome(index: number): string | null;
  /** The attacker's next address: networks in turn, hosts 2..250 within each, so no one address stands out. */
  attacker(attempt: number): string | null;
  attackerNetworks(): string[];
  till(): string | null;
  /** Low-and-slow stuffing: every attempt from its own address, spread over up to 250 /24s (127.90+.k.h). */
  slowStuffer(attempt: number): string | null;
  /** A thief using a victim's session or phone: hop `hop` of victim `index`, each hop a /24 of its own (127.120+.k.h). */
  thief(index: number, hop: number): string | null;
}

export function addressPlan(spread: boolean, attackerNetworks: number, runTag: number): AddressPlan {
  // runTag moves a second drill on the same Koban to other /24s, so yesterday's counters do not leak in.
  const tag = runTag % 200;
  const ordinaryBase = 10 + (tag % 4);
  return {
    spread,
    ordinary: (i) => (spread ? `127.${ordinaryBase}.${i % 250}.${2 + Math.floor(i / 250)}` : null),
    victimHome: (i) => (spread ? `127.${20 + (tag % 4)}.${i % 250}.${2 + Math.floor(i / 250)}` : null),
    attacker: (attempt) => {
      if (!spread) return null;
      const network = attempt % attackerNetworks;
      const host = 2 + (Math.floor(attempt / attackerNetworks) % 249);
      return `127.${66 + (tag % 20)}.${network % 256}.${host}`;
    },
    attackerNetworks: () => Array.from({ length: attackerNetworks }, (_, k) => `127.${66 + (tag % 20)}.${k % 256}.0/24`),
    till: () => (spread ? '127.30.0.2' : null),
    slowStuffer: (attempt) => (spread ? `127.${90 + (tag % 20)}.${attempt % 250}.${2 + (Math.floor(attempt / 250) % 249)}` : null),
    thief: (index, hop) => (spread ? `127.${120 + (tag % 20)}.${(index * 13 + hop) % 250}.${2 + (Math.floor((index * 13 + hop) / 250) % 249)}` : null),
  };
}

/** Whether this machine lets a socket to the target leave from 127.66.0.2 (Linux: yes; some systems only have 127.0.0.1). */
export async function canSpreadSources(targetUrl: string): Promise<boolean> {
  const host = new URL(targetUrl).hostname;
  if (!(host === 'localhost' || host.startsWith('127.'))) return false;
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  try {
    return await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.66.0.2' }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
