/**
 * `koban till activation-code --terminal <id>`: a one-time code (15 minutes) that turns one browser into
 * that terminal's till. `koban till revoke --terminal <id>`: ends every session of the terminal (a lost or
 * stolen tablet) and retires its unused codes. Both work against the configured database; beside a Koban
 * running on the embedded folder (which no second process may open), the activation code is asked of it.
 */
import { resolveSecretKey } from '../../merchants/secret-key.ts';
import { loadConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db/database.ts';
import { UUID_PATTERN } from '../../platform/ids.ts';
import type { LocalAdminAddress } from '../../platform/local-admin.ts';
import { createTerminalAccess } from './access.ts';

interface CliCommand {
  readonly words: readonly string[];
  readonly summary: string;
  readonly usage?: string;
  run(db: Database, args: readonly string[]): Promise<number>;
  viaRunningKoban?(koban: LocalAdminAddress, args: readonly string[]): Promise<number>;
}

const ACTIVATION_USAGE = 'usage: koban till activation-code --terminal <terminal uuid>\n';
/** A running Koban answers within a second; past this it is stuck, and the operator should hear so. */
const LOCAL_REQUEST_TIMEOUT_MS = 10_000;

function printIssued(issued: { terminalId: string; code: string; expiresAt: string }): void {
  process.stdout.write(`${issued.code}   (terminal ${issued.terminalId}; one use; expires ${issued.expiresAt}; enter it at /till/)\n`);
}

/** Beside an embedded Koban: it issues the code (src/payments/terminal/issue-routes.ts). */
async function issueThroughRunningKoban(koban: LocalAdminAddress, terminalId: string): Promise<number> {
  const response = await fetch(new URL('/v1/local/till/activation-codes', koban.url), {
    method: 'POST', headers: { authorization: `Bearer ${koban.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ terminalId }), signal: AbortSignal.timeout(LOCAL_REQUEST_TIMEOUT_MS),
  });
  const body = await response.json() as { terminalId: string; code: string; expiresAt: string; detail?: string; title?: string };
  if (!response.ok) {
    process.stderr.write(`koban till activation-code: ${body.detail ?? body.title ?? `HTTP ${response.status}`} (asked the Koban running as pid ${koban.pid})\n`);
    return 2;
  }
  printIssued(body);
  return 0;
}

function terminalArgument(args: readonly string[]): string | null {
  if (args.length !== 2 || args[0] !== '--terminal' || args[1] === undefined) return null;
  return new RegExp(UUID_PATTERN).test(args[1]) ? args[1] : null;
}

async function terminalAccess(db: Database) {
  return createTerminalAccess(db, await resolveSecretKey(loadConfig()));
}

export const TILL_COMMANDS: readonly CliCommand[] = [
  {
    words: ['till', 'activation-code'],
    usage: '--terminal <id>',
    summary: 'print a one-time code (15 min) that activates a browser as this terminal\'s till',
    async run(db, args) {
      const terminalId = terminalArgument(args);
      if (terminalId === null) {
        process.stderr.write(ACTIVATION_USAGE);
        return 2;
      }
      const issued = await (await terminalAccess(db)).issueActivationCode(terminalId, 'cli');
      printIssued({ terminalId, code: issued.code, expiresAt: issued.expiresAt.toISOString() });
      return 0;
    },
    async viaRunningKoban(koban, args) {
      const terminalId = terminalArgument(args);
      if (terminalId === null) {
        process.stderr.write(ACTIVATION_USAGE);
        return 2;
      }
      return issueThroughRunningKoban(koban, terminalId);
    },
  },
  {
    words: ['till', 'revoke'],
    usage: '--terminal <id>',
    summary: 'end every till session of this terminal and retire its unused activation codes',
    async run(db, args) {
      const terminalId = terminalArgument(args);
      if (terminalId === null) {
        process.stderr.write('usage: koban till revoke --terminal <terminal uuid>\n');
        return 2;
      }
      const ended = await (await terminalAccess(db)).revoke(terminalId);
      process.stdout.write(`terminal ${terminalId}: ${ended} session(s) ended\n`);
      return 0;
    },
  },
];
