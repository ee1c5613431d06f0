/**
 * The operations commands of the `koban` CLI (src/cli/main.ts lists them). The CLI is for the people
 * who run Koban: it acts as `cli:<os user>` in the audit log.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import { createOperators } from './operators/operators.ts';
import { demoTotpCode } from './operators/demo.ts';
import { isOperatorRole, OPERATOR_ROLES } from './operators/permissions.ts';
import { sealPending } from './audit/sealer.ts';
import { formatAuditReport, verifyAudit } from './audit/verify.ts';

export interface OperationsCommand {
  readonly words: readonly string[];
  readonly summary: string;
  readonly usage?: string;
  /** false: the command needs no database, so it runs while Koban holds the embedded folder. */
  readonly opensDatabase?: false;
  run(db: Database, args: readonly string[]): Promise<number>;
}

/** The CLI acts as the person at the terminal; the audit log names them. */
export function cliActor() {
  return { kind: 'cli' as const, id: userInfo().username || 'unknown' };
}

export const OPERATIONS_COMMANDS: readonly OperationsCommand[] = [
  {
    words: ['operator', 'create'],
    usage: '--role <role> --email <e-mail> [--name <name>]',
    summary: `create an operator (roles: ${OPERATOR_ROLES.join(', ')}); prints a one-time password and TOTP enrolment secret`,
    async run(db, args) {
      const { values } = parseArgs({ args: [...args], options: { role: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' } }, strict: true });
      if (!isOperatorRole(values.role) || values.email === undefined) {
        process.stderr.write(`usage: koban operator create --role <${OPERATOR_ROLES.join('|')}> --email <e-mail> [--name <name>]\n`);
        return 2;
      }
      const config = loadConfig().operations;
      const operators = createOperators(db, { secret: config.operatorSecret, idleTimeoutMs: config.operatorIdleTimeoutMs, absoluteTimeoutMs: config.operatorAbsoluteTimeoutMs, enrolmentWindowMs: config.operatorPasskeyEnrolmentWindowMs });
      const created = await operators.create({ email: values.email, role: values.role, displayName: values.name ?? values.email }, cliActor());
      process.stdout.write([
        `operator ${created.operator.email} (${created.operator.role}) created: ${created.operator.id}`,
        'Shown once; hand over in person and never store in chat or e-mail:',
        `  password     ${created.password}`,
        `  TOTP secret  ${created.totpSecret}`,
        `  TOTP URI     ${created.totpUri}`,
        'The first sign-in with a code from this secret confirms the authenticator.',
      ].join('\n') + '\n');
      return 0;
    },
  },
  {
    words: ['operator', 'demo-code'],
    summary: 'print the current TOTP code of the public demo operators (development only)',
    opensDatabase: false,
    async run() {
      if (loadConfig().nodeEnv === 'production') {
        process.stderr.write('koban operator demo-code: there are no demo operators in production\n');
        return 2;
      }
      process.stdout.write(`${await demoTotpCode()}\n`);
      return 0;
    },
  },
  {
    words: ['audit', 'verify'],
    summary: 'recompute the audit hash chain and report any edited, deleted or reordered event or block',
    async run(db) {
      const report = await verifyAudit(db);
      process.stdout.write(`${formatAuditReport(report)}\n`);
      return report.ok ? 0 : 1;
    },
  },
  {
    words: ['audit', 'seal'],
    summary: 'seal the audit events waiting for the background sealer now',
    async run(db) {
      let total = { blocks: 0, events: 0 };
      for (;;) {
        const sealed = await sealPending(db);
        total = { blocks: total.blocks + sealed.blocks, events: total.events + sealed.events };
        if (sealed.blocks === 0) break;
      }
      process.stdout.write(`audit: sealed ${total.events} event(s) in ${total.blocks} block(s)\n`);
      return 0;
    },
  },
];
