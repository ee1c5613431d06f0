import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireFolderLock, FolderLocked } from './folder-lock.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'koban-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('data folder lock', () => {
  it('refuses a second holder while the first is alive, and frees the folder on release', () => {
    const folder = path.join(root, 'a');
    const lock = acquireFolderLock(folder);
    expect(() => acquireFolderLock(folder)).toThrow(FolderLocked);
    lock.release();
    expect(existsSync(`${folder}.lock`)).toBe(false);
    acquireFolderLock(folder).release();
  });

  it('takes over a lock whose owner process is gone', () => {
    const folder = path.join(root, 'b');
    // pid 2^22+1 is above Linux's pid_max default range: no such process.
    writeFileSync(`${folder}.lock`, JSON.stringify({ pid: 4_194_305, hostname: os.hostname(), startedAt: '2026-01-01T00:00:00Z' }));
    const lock = acquireFolderLock(folder);
    expect(lock.path).toBe(`${folder}.lock`);
    lock.release();
  });
});
