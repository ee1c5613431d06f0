/**
 * The house rules (README "Module rules", docs/STYLE.md), checked on the real source on every
 * `npm test`: no import cycle between modules, nothing imports the composition root, no module
 * writes a table another module owns, and no routes file holds SQL. The first block shows that the
 * checker itself catches each breach, on a tiny tree written for the purpose.
 *
 * Every file under src/ is read, tests and test-support included: a test that imports across modules
 * couples them just as much (a cross-module test belongs in test/, outside the graph).
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  foreignWrites, importEdges, moduleCycles, ownersByTable, readSourceTree, ROOT_MODULE, sqlInRoutes, tablesCreated, tableWrites,
  type ForeignWrite, type SourceFile,
} from './module-graph.ts';
import { TABLE_OWNERS, TABLES_OUTSIDE_MIGRATIONS } from './table-owners.ts';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const describeCycle = (cycle: { modules: string[]; steps: { fromFile: string; toFile: string }[] }): string =>
  `${cycle.modules.join(' → ')} (${cycle.steps.map((step) => `${step.fromFile} imports ${step.toFile}`).join('; ')})`;
const describeWrite = (write: ForeignWrite): string =>
  `${write.file}:${write.line} ${write.verb}s ${write.table}, which ${write.owner} owns`;

describe('the checker', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });

  /** A throwaway repository: `files` maps paths under it to their text. */
  const fakeTree = (files: Record<string, string>): SourceFile[] => {
    const root = mkdtempSync(join(tmpdir(), 'koban-arch-'));
    dirs.push(root);
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return readSourceTree(root);
  };

  it('names a module-level cycle with the imports that close it', () => {
    const files = fakeTree({
      'src/shop/sell.ts': `import { pay } from '../purse/pay.ts';\nexport const sell = () => pay();`,
      'src/purse/pay.ts': `import type { Sale } from '../shop/types.ts';\nexport const pay = (sale?: Sale) => sale;`,
      'src/shop/types.ts': `export interface Sale { id: string }`,
      'src/purse/inner.ts': `import { pay } from './pay.ts';\nexport const again = pay;`,
    });
    const cycles = moduleCycles(importEdges(files));
    expect(cycles.map(describeCycle)).toEqual([
      'purse → shop → purse (src/purse/pay.ts imports src/shop/types.ts; src/shop/sell.ts imports src/purse/pay.ts)',
    ]);
  });

  it('finds no cycle in a tree whose imports go one way, and none inside one module', () => {
    const files = fakeTree({
      'src/shop/sell.ts': `import { pay } from '../purse/pay.ts';\nimport { x } from './x.ts';\nexport const sell = () => pay(x);`,
      'src/shop/x.ts': `import { sell } from './sell.ts';\nexport const x = 1; export const y = sell;`,
      'src/purse/pay.ts': `export const pay = (n: number) => n;`,
      'src/main.ts': `import { sell } from './shop/sell.ts';\nsell();`,
    });
    expect(moduleCycles(importEdges(files))).toEqual([]);
    expect(importEdges(files).map((edge) => `${edge.from}>${edge.to}`).sort()).toEqual([`${ROOT_MODULE}>shop`, 'shop>purse']);
  });

  it('names the file and table of a write into another module\'s table, and leaves reads and the owner alone', () => {
    const files = fakeTree({
      'src/purse/wallets.ts': `export const q = 'insert into purses (id) values ($1) on conflict (id) do update set id = excluded.id';`,
      'src/shop/close.ts': [
        `// we used to update purses set balance here; prose in a comment is not a write`,
        `export const read = 'select balance from purses where id = $1';`,
        `export const write = (id: string) => \`update purses p set balance = 0 where p.id = '\${id}'\`;`,
        `export const ours = 'delete from sales where id = $1';`,
      ].join('\n'),
      'src/shop/seed.ts': `declare const db: any;\nexport const seed = () => db.insertInto('purses').values({ id: 1 }).execute();`,
    });
    const owners = ownersByTable({ purse: ['purses'], shop: ['sales'] });
    expect(foreignWrites(files, owners).map(describeWrite)).toEqual([
      'src/shop/close.ts:3 updates purses, which purse owns',
      'src/shop/seed.ts:2 inserts purses, which purse owns',
    ]);
  });

  it('reads every kind of write, and a table a migration creates', () => {
    const writes = tableWrites({ path: 'src/a/x.ts', text: [
      `const a = 'INSERT INTO "Alpha" (x) values (1)';`,
      `const b = \`merge into beta b using src on true\`;`,
      `const c = 'delete from only gamma where true';`,
      `const d = 'update delta as d set x = 1';`,
      `const e = 'insert into epsilon (x) values (1) on conflict (x) do update set x = excluded.x';`,
    ].join('\n') });
    expect(writes.map((write) => `${write.verb} ${write.table}`)).toEqual(['insert alpha', 'merge beta', 'delete gamma', 'update delta', 'insert epsilon']);
    expect(tablesCreated('-- create table ignored (x int);\ncreate table one (x int);\nCREATE TABLE IF NOT EXISTS two (y int);')).toEqual(['one', 'two']);
  });

  it('finds SQL, database calls and transactions in a routes file, and only there', () => {
    const files = fakeTree({
      'src/shop/routes.ts': [
        `declare const db: any; declare const app: any;`,
        `app.get('/sales', { schema: { summary: 'Select the sales from this week' } }, async () => db.pool.query('select id from sales where day = $1', [1]));`,
      ].join('\n'),
      'src/shop/till-routes.ts': `declare const list: () => unknown; declare const withTransaction: (f: () => void) => void;\nexport const route = () => withTransaction(() => list());`,
      'src/shop/sales.ts': `declare const db: any;\nexport const list = () => db.query('select id from sales');`,
    });
    expect(sqlInRoutes(files).map((found) => `${found.file}:${found.line} ${found.what}`)).toEqual([
      'src/shop/routes.ts:2 .query(…)',
      'src/shop/routes.ts:2 select id from sales',
      'src/shop/till-routes.ts:2 withTransaction(…)',
    ]);
  });

  it('refuses a table declared by two modules', () => {
    expect(() => ownersByTable({ a: ['t'], b: ['t'] })).toThrow('table t is declared by both a and b');
  });
});

describe('Koban', () => {
  const files = readSourceTree(REPO);
  const edges = importEdges(files);

  it('has no import cycle between modules', () => {
    expect(files.length).toBeGreaterThan(200);
    expect(moduleCycles(edges).map(describeCycle)).toEqual([]);
  });

  it('imports the composition root (src/*.ts) only from the composition root', () => {
    const intoRoot = edges.filter((edge) => edge.to === ROOT_MODULE).map((edge) => `${edge.fromFile} imports ${edge.toFile}`);
    expect(intoRoot).toEqual([]);
  });

  it('writes each table only from the module that owns it', () => {
    const owners = ownersByTable(TABLE_OWNERS);
    const writes = files.flatMap(tableWrites);
    expect(writes.length).toBeGreaterThan(100);
    expect(foreignWrites(files, owners).map(describeWrite)).toEqual([]);
  });

  it('keeps SQL and transactions out of routes: a route parses, calls its module and maps the result', () => {
    expect(sqlInRoutes(files).map((found) => `${found.file}:${found.line} ${found.what}`)).toEqual([]);
  });

  it('gives every table a migration creates exactly one owner, and owns no table that does not exist', () => {
    const migrations = join(REPO, 'migrations');
    const created = new Map<string, string>();
    for (const name of readdirSync(migrations).filter((file) => file.endsWith('.sql'))) {
      for (const table of tablesCreated(readFileSync(join(migrations, name), 'utf8'))) created.set(table, name);
    }
    const owners = ownersByTable(TABLE_OWNERS);
    const unowned = [...created].filter(([table]) => !owners.has(table)).map(([table, file]) => `${table} (${file}) has no owner in test/architecture/table-owners.ts`);
    expect(unowned).toEqual([]);
    const outside = new Set<string>(TABLES_OUTSIDE_MIGRATIONS);
    const phantom = [...owners.keys()].filter((table) => !created.has(table) && !outside.has(table));
    expect(phantom).toEqual([]);
  });
});
