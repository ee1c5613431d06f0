import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs `koban <args>` as an operator would, against the given database; never throws on exit codes. */
export async function koban(databaseUrl: string | null, ...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, ['bin/koban.mjs', ...args], { env: { ...process.env, DATABASE_URL: databaseUrl ?? '' } });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}
