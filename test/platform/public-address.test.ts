import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { httpTransport } from '../../src/payments/webhooks/dispatcher.ts';
import { validateWebhookUrl } from '../../src/merchants/webhook-endpoints.ts';
import { isPublicAddress } from '../../src/platform/public-address.ts';

describe('SSRF guard: webhooks reach only public addresses in production', () => {
  it('classifies loopback, private, link-local (cloud metadata), CGNAT, multicast and mapped addresses as not public', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
      '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip']) {
      expect(isPublicAddress(address), address).toBe(false);
    }
    for (const address of ['8.8.8.8', '133.1.2.3', '2400:4050::1', '::ffff:8.8.8.8']) expect(isPublicAddress(address), address).toBe(true);
  });

  it('refuses to register an obviously private URL in production, and allows a local receiver in development', () => {
    for (const url of ['https://127.0.0.1/hook', 'https://[::1]/hook', 'https://169.254.169.254/latest/meta-data', 'https://localhost/hook', 'https://a.localhost/x']) {
      expect(() => validateWebhookUrl(url, false), url).toThrow(/public host/);
    }
    expect(validateWebhookUrl('https://merchant.example/hook', false)).toBe('https://merchant.example/hook');
    expect(validateWebhookUrl('http://127.0.0.1:9999/hook', true)).toBe('http://127.0.0.1:9999/hook');
  });

  it('delivery refuses a literal private address and a name that resolves to one, before any byte is sent', async () => {
    let received = 0;
    const server = createServer((request, response) => { received++; request.resume(); response.end(); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const guarded = httpTransport({ allowPrivateNetworks: false });
      await expect(guarded.post(`http://127.0.0.1:${port}/hook`, {}, '{}', 2_000)).rejects.toThrow(/not a public address/);
      await expect(guarded.post(`http://localhost:${port}/hook`, {}, '{}', 2_000)).rejects.toThrow(/not a public address/);
      expect(received).toBe(0);
      const development = httpTransport({ allowPrivateNetworks: true });
      expect(await development.post(`http://127.0.0.1:${port}/hook`, { 'content-type': 'application/json' }, '{}', 2_000)).toBe(200);
      expect(received).toBe(1);
    } finally {
      server.close();
    }
  });
});
