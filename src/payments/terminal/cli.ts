/**
 * `koban till activation-code --terminal <id>`: a one-time code (15 minutes) that turns one browser into
 * that terminal's till. `koban till revoke --terminal <id>`: ends every session of the terminal (a lost or
 * stolen tablet) and retires its unused codes. Both work against the configured database.
 */
import { resolveSecretKey } from '../../merchants/secret-key.ts';
import { loadConfig } from '../../platform/config.ts';
import type { Database } from '../../platform/db/database.ts';
import { UUID_PATTERN } from '../../platform/ids.ts';
import { createTerminalAccess } from './access.ts';

interface CliCommand {
  readonly words: readonly string[];
  readonly summary: string;
  readonly usage?: string;
  run(db: Database, args: readonly string[]): Promise<number>;
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
        process.stderr.write('usage: koban till activation-code --terminal <terminal uuid>\n');
        return 2;
      }
      const issued = await (await terminalAccess(db)).issueActivationCode(terminalId, 'cli');
      process.stdout.write(`${issued.code}   (terminal ${terminalId}; one use; expires ${issued.expiresAt.toISOString()}; enter it at /till/)\n`);
      return 0;
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
