/** Every console string exists in English and Japanese: a missing key would show the key itself to an operator. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { messages } from '../../web/console/messages.ts';
import { TransferCodes } from '../../src/ledger/types.ts';
import { OPERATOR_ROLES } from '../../src/operations/operators/permissions.ts';
import { CASE_OUTCOMES } from '../../src/operations/cases/cases.ts';
import { PARAM_UNITS } from '../../src/risk/params.ts';
import { DEFAULT_RULES } from '../../src/risk/rules/index.ts';

const CONSOLE_DIR = path.resolve(import.meta.dirname, '../../web/console');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(full) : entry.name.endsWith('.tsx') ? [readFileSync(full, 'utf8')] : [];
  });
}

describe('console messages', () => {
  it('every literal t() key used by a console screen has both languages', () => {
    const keys = new Set<string>();
    for (const source of sources(CONSOLE_DIR)) {
      for (const match of source.matchAll(/\bt\(\s*'([a-zA-Z][\w.]*)'/g)) keys.add(match[1]!);
      // Keys chosen by a ternary: t(cond ? 'a' : 'b', …)
      for (const match of source.matchAll(/\bt\([^()]*\?\s*'([\w.]+)'\s*:\s*'([\w.]+)'/g)) { keys.add(match[1]!); keys.add(match[2]!); }
    }
    expect(keys.size).toBeGreaterThan(150);
    const missing = [...keys].filter((key) => messages[key] === undefined || messages[key]!.en === '' || messages[key]!.ja === '');
    expect(missing).toEqual([]);
  });

  it('keys built from server values cover every value the server sends', () => {
    const built = [
      ...Object.keys(TransferCodes).map((code) => `code.${code}`),
      ...OPERATOR_ROLES.map((role) => `role.${role}`),
      ...CASE_OUTCOMES.map((outcome) => `outcome.${outcome}`),
      ...['draft', 'proposed', 'approved', 'executed', 'rejected'].map((status) => `batch.${status}`),
      ...['customer', 'merchant', 'payment', 'top_up', 'transfer'].map((kind) => `search.kind.${kind}`),
      ...['device', 'card', 'network'].map((kind) => `link.${kind}`),
      ...['email', 'phone'].map((kind) => `contact.${kind}`),
      ...['action', 'actorId', 'targetKind', 'targetId'].map((filter) => `audit.filter.${filter}`),
      ...DEFAULT_RULES.map((rule) => `summary.${rule.id}`),
      ...DEFAULT_RULES.flatMap((rule) => rule.describeParams().flatMap((param) => [`param.${param.name}`, `unitName.${param.unit}`])),
      ...PARAM_UNITS.filter((unit) => unit !== 'yen').map((unit) => `unit.${unit}`),
      ...['challenge', 'review', 'deny'].map((action) => `ruleAction.${action}`),
      ...['allow', 'challenge', 'review', 'deny'].map((decision) => `decisionName.${decision}`),
      ...['recount', 'fired', 'action_only'].map((level) => `backtest.replay.${level}`),
    ];
    expect(built.filter((key) => messages[key] === undefined)).toEqual([]);
  });
});
