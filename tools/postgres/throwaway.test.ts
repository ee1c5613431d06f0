import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { findPgBinaries } from './binaries.ts';
import { isAlive } from './cleanup.ts';
import { configLines, startThrowawayPostgres, type ThrowawayPostgres } from './throwaway.ts';

const FIXTURE_OWNER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixture-owner.ts');
/** How long the watchdog may take after its owner is SIGKILLed: 250 ms polling plus an immediate stop. */
const CLEANUP_DEADLINE_MS = 10_000;
const POLL_MS = 100;

const started: ThrowawayPostgres[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.stop()));
});

async function start(settings?: Record<string, string>): Promise<ThrowawayPostgres> {
  const server = await startThrowawayPostgres({ label: 'unit', ...(settings === undefined ? {} : { settings }) });
  started.push(server);
  return server;
}

async function show(url: string, setting: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<Record<string, string>>(`show ${setting}`);
    return String(result.rows[0]?.[setting]);
  } finally {
    await client.end();
  }
}

/** True when nothing listens on the port any more. */
async function portRefuses(port: number): Promise<boolean> {
  const socket = net.connect(port, '127.0.0.1');
  const outcome = await Promise.race([
    once(socket, 'connect').then(() => false),
    once(socket, 'error').then(() => true, () => true),
  ]).catch(() => true);
  socket.destroy();
  return outcome;
}

async function waitUntil(condition: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const giveUpAt = Date.now() + deadlineMs;
  while (Date.now() < giveUpAt && !(await condition())) await new Promise((r) => setTimeout(r, POLL_MS));
}

describe('throwaway PostgreSQL', () => {
  it('runs a real PostgreSQL with durable commits (fsync and synchronous_commit on)', async () => {
    const server = await start();
    expect(server.adminUrl).toBe(`postgres://koban@127.0.0.1:${server.port}/postgres`);
    expect(await show(server.adminUrl, 'fsync')).toBe('on');
    expect(await show(server.adminUrl, 'synchronous_commit')).toBe('on');
    expect(await show(server.adminUrl, 'server_version')).toMatch(/^\d+/);
    const client = new pg.Client({ connectionString: server.adminUrl });
    await client.connect();
    const { rows } = await client.query<{ version: string }>('select version()');
    await client.end();
    expect(rows[0]?.version).toContain('PostgreSQL');
  });

  it('applies extra settings, quoting values that contain quotes and backslashes', async () => {
    const server = await start({ cluster_name: "koban's \\test", work_mem: '7MB' });
    expect(await show(server.adminUrl, 'cluster_name')).toBe("koban's \\test");
    expect(await show(server.adminUrl, 'work_mem')).toBe('7MB');
  });

  it('rejects a setting that would inject another config line', () => {
    expect(() => configLines({ work_mem: "1MB'\nfsync = 'off" })).toThrow(/one line/);
    expect(() => configLines({ 'fsync = off #': 'x' })).toThrow(/bad PostgreSQL setting name/);
  });

  it('stop() shuts the server down, removes its data dir and can be called again', async () => {
    const server = await start();
    expect(await portRefuses(server.port)).toBe(false);
    expect(existsSync(server.dataDir)).toBe(true);
    await server.stop();
    expect(await portRefuses(server.port)).toBe(true);
    expect(existsSync(server.dataDir)).toBe(false);
    await expect(server.stop()).resolves.toBeUndefined();
  });

  it('leaves no server, data dir or registered process group behind when its owner is SIGKILLed', async () => {
    const owner = spawn(process.execPath, [FIXTURE_OWNER], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(createInterface({ input: owner.stdout }), 'line')) as [string];
    const { dataDir, port, sleeperPid } = JSON.parse(line) as { dataDir: string; port: number; sleeperPid: number };
    expect(await portRefuses(port)).toBe(false);
    expect(existsSync(dataDir)).toBe(true);
    expect(isAlive(sleeperPid)).toBe(true);

    owner.kill('SIGKILL');
    const allGone = async () => (await portRefuses(port)) && !existsSync(dataDir) && !isAlive(sleeperPid);
    await waitUntil(allGone, CLEANUP_DEADLINE_MS);
    expect(await portRefuses(port)).toBe(true);
    expect(existsSync(dataDir)).toBe(false);
    expect(isAlive(sleeperPid)).toBe(false);
  });

  it('sweeps data dirs whose owner died without its watchdog', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    await once(dead, 'exit');
    const staleDir = path.join(os.tmpdir(), `koban-pg-unit-${dead.pid}-Stale1`);
    mkdirSync(path.join(staleDir, 'base'), { recursive: true });
    try {
      await start();
      expect(existsSync(staleDir)).toBe(false);
    } finally {
      rmSync(staleDir, { recursive: true, force: true });
    }
  });

  it('refuses a KOBAN_PG_BIN that holds no PostgreSQL, saying how to get one', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'koban-no-pg-'));
    try {
      expect(() => findPgBinaries({ KOBAN_PG_BIN: empty })).toThrow(/KOBAN_PG_BIN.*PostgreSQL 15\+/s);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
