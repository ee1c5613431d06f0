/**
 * The house rules, checked from the source: no import cycle between modules, and no module writing a
 * table another module owns. A module is the first folder under `src/` (`src/payments/...` is
 * `payments`); files directly in `src/` are the composition root (`root`), which may import anything
 * and is imported by nothing but itself.
 *
 * Imports are read with the TypeScript parser (static, `export … from`, `import type` and dynamic
 * `import('…')` alike: a type-only import still couples two modules). Writes are read from string
 * and template literals only (SQL lives there; prose in comments does not count) and from Kysely's
 * `insertInto` / `updateTable` / `deleteFrom` / `mergeInto` calls.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export const ROOT_MODULE = 'root';

export interface SourceFile {
  /** Path relative to the tree's root, with forward slashes (`src/payments/till.ts`). */
  path: string;
  text: string;
}

export interface ImportEdge {
  from: string;
  to: string;
  /** The file that imports and the file it imports (relative paths). */
  fromFile: string;
  toFile: string;
}

export interface TableWrite {
  file: string;
  module: string;
  table: string;
  verb: 'insert' | 'update' | 'delete' | 'merge';
  line: number;
}

export interface ForeignWrite extends TableWrite {
  owner: string;
}

/** Every `.ts` file under `<root>/src`, skipping the ones `skip` names (by relative path). */
export function readSourceTree(root: string, skip: (path: string) => boolean = () => false): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) {
        const path = relative(root, full).split(sep).join('/');
        if (!skip(path)) files.push({ path, text: readFileSync(full, 'utf8') });
      }
    }
  };
  walk(join(root, 'src'));
  return files;
}

/** `src/payments/till.ts` → `payments`; `src/koban.ts` → `root`; anything outside `src/` → null. */
export function moduleOf(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return null;
  return parts.length === 2 ? ROOT_MODULE : (parts[1] ?? null);
}

/** The relative specifiers a file imports (package imports such as `pg` are not the house's). */
export function importSpecifiers(file: SourceFile): string[] {
  const info = ts.preProcessFile(file.text, true, true);
  return info.importedFiles.map((entry) => entry.fileName).filter((name) => name.startsWith('.'));
}

export function importEdges(files: SourceFile[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of files) {
    const from = moduleOf(file.path);
    if (from === null) continue;
    for (const specifier of importSpecifiers(file)) {
      const toFile = resolve('/', dirname(file.path), specifier).slice(1);
      const to = moduleOf(toFile);
      if (to === null || to === from) continue;
      edges.push({ from, to, fromFile: file.path, toFile });
    }
  }
  return edges;
}

/**
 * Module-level cycles. For each strongly connected component of the module graph, the shortest
 * cycle through each of its modules (duplicates dropped), named as a path that returns to its start
 * (`payments → wallet → payments`) with one import that makes each step.
 */
export function moduleCycles(edges: ImportEdge[]): { modules: string[]; steps: ImportEdge[] }[] {
  const next = new Map<string, Map<string, ImportEdge>>();
  for (const edge of edges) {
    const targets = next.get(edge.from) ?? new Map<string, ImportEdge>();
    if (!targets.has(edge.to)) targets.set(edge.to, edge);
    next.set(edge.from, targets);
  }
  const cycles: { modules: string[]; steps: ImportEdge[] }[] = [];
  const seen = new Set<string>();
  for (const component of stronglyConnected(next)) {
    if (component.length < 2) continue;
    for (const start of component) {
      const steps = cycleThrough(start, component, next);
      const modules = [...steps.map((step) => step.from), start];
      const key = [...new Set(modules)].sort().join(' ');
      if (seen.has(key)) continue;
      seen.add(key);
      cycles.push({ modules, steps });
    }
  }
  return cycles;
}

/** Tarjan's algorithm; components come out in a stable order because the input maps are insertion-ordered. */
function stronglyConnected(next: Map<string, Map<string, ImportEdge>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node)?.keys() ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (;;) {
        const member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      components.push(component.sort());
    }
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) visit(node);
  return components;
}

/** A shortest walk from `start` back to itself, staying inside its component. */
function cycleThrough(start: string, component: string[], next: Map<string, Map<string, ImportEdge>>): ImportEdge[] {
  const members = new Set(component);
  const cameBy = new Map<string, ImportEdge>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() ?? '';
    for (const [target, edge] of next.get(node) ?? []) {
      if (!members.has(target) || cameBy.has(target)) continue;
      cameBy.set(target, edge);
      if (target === start) queue.length = 0;
      else queue.push(target);
    }
  }
  const steps: ImportEdge[] = [];
  for (let at = start; ; ) {
    const edge = cameBy.get(at);
    if (edge === undefined) break;
    steps.unshift(edge);
    at = edge.from;
    if (at === start) break;
  }
  return steps;
}

const IDENTIFIER = String.raw`"?([a-z_][a-z0-9_]*)"?`;
const SQL_WRITES: { verb: TableWrite['verb']; pattern: RegExp }[] = [
  { verb: 'insert', pattern: new RegExp(String.raw`\binsert\s+into\s+${IDENTIFIER}`, 'gi') },
  { verb: 'delete', pattern: new RegExp(String.raw`\bdelete\s+from\s+(?:only\s+)?${IDENTIFIER}`, 'gi') },
  { verb: 'merge', pattern: new RegExp(String.raw`\bmerge\s+into\s+${IDENTIFIER}`, 'gi') },
  // `update <table> [[as] alias] set`; `on conflict … do update set` names no table and is skipped.
  {
    verb: 'update',
    pattern: new RegExp(String.raw`\bupdate\s+(?:only\s+)?${IDENTIFIER}(?:\s+(?:as\s+)?[a-z_][a-z0-9_]*)?\s+set\b`, 'gi'),
  },
];
const KYSELY_WRITES = new Map<string, TableWrite['verb']>([
  ['insertInto', 'insert'],
  ['updateTable', 'update'],
  ['deleteFrom', 'delete'],
  ['mergeInto', 'merge'],
]);

/** Every table a file writes, as far as its literals say (a table name built at run time is not seen). */
export function tableWrites(file: SourceFile): TableWrite[] {
  // Most files hold no SQL at all: skip the parse when no write verb appears anywhere in them.
  if (!/insert|update|delete|merge/i.test(file.text)) return [];
  const module = moduleOf(file.path) ?? '';
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, false);
  const writes: TableWrite[] = [];
  const record = (table: string, verb: TableWrite['verb'], node: ts.Node): void => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    writes.push({ file: file.path, module, table: table.toLowerCase(), verb, line });
  };
  const visit = (node: ts.Node): void => {
    const literal = literalText(node);
    if (literal !== null) {
      for (const { verb, pattern } of SQL_WRITES) {
        for (const match of literal.matchAll(pattern)) {
          const table = match[1];
          if (table !== undefined && table.toLowerCase() !== 'set') record(table, verb, node);
        }
      }
      // A template's pieces are read as one text above; do not read them again one by one.
      if (ts.isTemplateExpression(node)) return;
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const verb = KYSELY_WRITES.get(node.expression.name.text);
      const first = node.arguments[0];
      if (verb !== undefined && first !== undefined && ts.isStringLiteralLike(first)) {
        record(first.text.split(/\s+/)[0] ?? first.text, verb, node);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return writes;
}

/** The text of a string or template literal, with each `${…}` replaced by a placeholder. */
function literalText(node: ts.Node): string | null {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) {
    return node.head.text + node.templateSpans.map((span) => ' $x ' + span.literal.text).join('');
  }
  return null;
}

/** Owners by table, from a map of module → tables it owns; a table with two owners is a mistake. */
export function ownersByTable(owned: Record<string, readonly string[]>): Map<string, string> {
  const owners = new Map<string, string>();
  for (const [module, tables] of Object.entries(owned)) {
    for (const table of tables) {
      const previous = owners.get(table);
      if (previous !== undefined) throw new Error(`table ${table} is declared by both ${previous} and ${module}`);
      owners.set(table, module);
    }
  }
  return owners;
}

/** Writes to a table whose owner is another module. Tables nobody owns (not Koban's) are not judged here. */
export function foreignWrites(files: SourceFile[], owners: Map<string, string>): ForeignWrite[] {
  const foreign: ForeignWrite[] = [];
  for (const file of files) {
    for (const write of tableWrites(file)) {
      const owner = owners.get(write.table);
      if (owner !== undefined && owner !== write.module) foreign.push({ ...write, owner });
    }
  }
  return foreign;
}

/** The tables each migration creates (`create table [if not exists] name`). */
export function tablesCreated(sql: string): string[] {
  const names: string[] = [];
  const pattern = new RegExp(String.raw`\bcreate\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?${IDENTIFIER}`, 'gi');
  for (const match of sql.replace(/--[^\n]*/g, '').matchAll(pattern)) if (match[1]) names.push(match[1].toLowerCase());
  return names;
}

export interface RouteSql {
  file: string;
  line: number;
  /** The SQL statement's opening words, or the database call. */
  what: string;
}

/** A routes file: `routes.ts` or `*-routes.ts` (the HTTP adapters). */
export const isRoutesFile = (path: string): boolean => /(^|\/|-)routes\.ts$/.test(path) && !path.endsWith('.test.ts');

// Lower case only, as Koban writes its SQL: a capitalised "Select the sales from…" in an OpenAPI summary is prose.
const SQL_STATEMENT = /\b(select\s[\s\S]*?\bfrom\s+[a-z_]+|insert\s+into\s+[a-z_]+|update\s+[a-z_]+\s+(?:[a-z_]+\s+)?set\b|delete\s+from\s+[a-z_]+|merge\s+into\s+[a-z_]+)/;
const DATABASE_CALLS = new Set(['query', 'selectFrom', 'insertInto', 'updateTable', 'deleteFrom', 'mergeInto']);

/** SQL text, a database call or a transaction in a routes file: a route parses, calls its module and maps; the module holds the SQL. */
export function sqlInRoutes(files: SourceFile[]): RouteSql[] {
  const found: RouteSql[] = [];
  for (const file of files.filter((candidate) => isRoutesFile(candidate.path))) {
    const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, false);
    const record = (node: ts.Node, what: string): void => {
      found.push({ file: file.path, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, what });
    };
    const visit = (node: ts.Node): void => {
      const literal = literalText(node);
      const statement = literal === null ? null : SQL_STATEMENT.exec(literal);
      if (statement !== null && statement !== undefined) record(node, statement[1]?.replace(/\s+/g, ' ').slice(0, 60) ?? '');
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && DATABASE_CALLS.has(node.expression.name.text)) {
        record(node, `.${node.expression.name.text}(…)`);
      }
      // A transaction is the module's decision of what commits together.
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'withTransaction') record(node, 'withTransaction(…)');
      if (literal !== null && ts.isTemplateExpression(node)) return;
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}
