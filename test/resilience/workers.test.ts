/**
 * `koban start --workers N` (issue 18) as a real process tree: the primary forks N Koban workers sharing
 * the listening ports, each with its own KOBAN_NODE_ID; migrations ran once; SIGTERM to the primary drains
 * every worker and the whole tree exits 0. Without a database server it refuses to start, saying why.
 */
import { Agent, get } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnKoban, type SpawnedKoban } from './koban-process.ts';

let db: TestDatabase;
const spawned: SpawnedKoban[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(() => {
  for (const s of spawned.splice(0)) s.kill();
});
afterAll(async () => {
  await db.close();
});

/** A fresh connection per request, so the primary hands each to a worker in turn. */
function healthz(base: string): Promise<{ node: string }> {
  return new Promise((resolve, reject) => {
    get(`${base}/healthz`, { agent: new Agent({ keepAlive: false }) }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      response.on('end', () => resolve(JSON.parse(body) as { node: string }));
    }).on('error', reject);
  });
}

describe('koban start --workers 2', () => {
  it('serves one port from two workers with their own node ids, and stops them all on SIGTERM', async () => {
    const tree = spawnKoban(db.url ?? '', { KOBAN_NODE_ID: 'box', KOBAN_DRAIN_DELAY_MS: '200' }, 120_000, ['src/cli/main.ts', 'start', '--workers', '2']);
    spawned.push(tree);
    const koban = await tree.started;
    await expect.poll(() => tree.output(), { timeout: 120_000, interval: 100 }).toContain('Koban: 2 workers serving (box-w1, box-w2)');
    // Both banners name the same port: the workers share it.
    const ports = new Set([...tree.output().matchAll(/Health \/ readiness http:\/\/[^:]+:(\d+)\/healthz/g)].map((m) => m[1]));
    expect(ports.size).toBe(1);
    const seen = new Set<string>();
    await expect.poll(async () => {
      seen.add((await healthz(koban.base)).node);
      return [...seen].sort();
    }, { timeout: 60_000, interval: 10 }).toEqual(['box-w1', 'box-w2']);
    tree.child.kill('SIGTERM');
    expect(await tree.exited).toEqual({ code: 0, signal: null });
    await expect(healthz(koban.base)).rejects.toThrow();
  }, 180_000);

  it('refuses to start without a database server, saying why', async () => {
    const tree = spawnKoban('', { KOBAN_WORKERS: '2' }, 60_000);
    spawned.push(tree);
    expect((await tree.exited).code).toBe(1);
    expect(tree.output()).toContain('KOBAN_WORKERS above 1 needs DATABASE_URL');
  });
});
