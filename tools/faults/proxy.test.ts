import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './proxy.ts';

const HOST = '127.0.0.1';
let cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function echoServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  cleanup.push(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

async function proxied(): Promise<{ proxy: FaultProxy; client: net.Socket }> {
  const proxy = await startFaultProxy({ host: HOST, port: 0, upstreamHost: HOST, upstreamPort: await echoServer() });
  cleanup.push(() => proxy.close());
  const client = net.connect({ host: HOST, port: proxy.port });
  await once(client, 'connect');
  cleanup.push(async () => { client.destroy(); });
  return { proxy, client };
}

function nextData(socket: net.Socket): Promise<string> {
  return once(socket, 'data').then(([chunk]) => String(chunk));
}

describe('fault proxy', () => {
  it('forwards bytes both ways', async () => {
    const { client } = await proxied();
    const echoed = nextData(client);
    client.write('ping');
    expect(await echoed).toBe('ping');
  });

  it('holds bytes while blackholed and delivers them once healed', async () => {
    const { proxy, client } = await proxied();
    proxy.blackhole();
    let received = '';
    client.on('data', (chunk) => { received += String(chunk); });
    client.write('held');
    // Round trips through the event loop: nothing may arrive while the link is held.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(received).toBe('');
    const echoed = new Promise<void>((resolve) => client.on('data', () => resolve()));
    proxy.heal();
    await echoed;
    expect(received).toBe('held');
  });

  it('resets open connections so the client sees ECONNRESET', async () => {
    const { proxy, client } = await proxied();
    const failed = once(client, 'error');
    expect(proxy.reset()).toBe(1);
    const [error] = await failed;
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });
});
