/**
 * The key-encryption key. Production must set KOBAN_SECRET_KEY (32 random bytes, base64 or hex); a
 * lost key makes every sealed secret unreadable, so it belongs in the deployment's secret store.
 * Development and tests generate one once and keep it beside the data folder (`.koban/secret-key`,
 * 0600, git-ignored), so every local process — server, CLI, benchmark — opens the same boxes.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../platform/config.ts';

export const SECRET_KEY_FILE = 'secret-key';

export function parseSecretKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    return key.length === 32 ? key : null;
  }
  return null;
}

export async function resolveSecretKey(config: Pick<Config, 'payments' | 'nodeEnv' | 'dataDir'>): Promise<Buffer> {
  const configured = config.payments.secretKey;
  if (configured !== null) {
    const key = parseSecretKey(configured);
    if (key === null) throw new Error('KOBAN_SECRET_KEY must be 32 bytes as 64 hex digits or base64');
    return key;
  }
  if (config.nodeEnv === 'production') throw new Error('KOBAN_SECRET_KEY is required in production');
  return developmentKey(path.join(path.dirname(config.dataDir), SECRET_KEY_FILE));
}

async function developmentKey(file: string): Promise<Buffer> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    // 'wx': two processes starting together cannot both write; the loser reads the winner's key.
    await writeFile(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const key = parseSecretKey(await readFile(file, 'utf8'));
    if (key !== null) return key;
    // The winner may not have finished writing yet.
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${file} does not hold a 32-byte key; delete it to generate a new one (sealed secrets are then lost)`);
}
