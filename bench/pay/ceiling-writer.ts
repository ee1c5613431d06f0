/** One ceiling writer process (used when pgbench is not installed): loops the batch statement, prepared. */
import pg from 'pg';
import { batchSql, type CeilingTargets } from './ceiling-sql.ts';

const [url, targetsJson, secondsText] = process.argv.slice(2);
const client = new pg.Client({ connectionString: url });
await client.connect();
const text = batchSql(JSON.parse(targetsJson ?? '{}') as CeilingTargets);
const deadline = performance.now() + Number(secondsText) * 1000;
let batches = 0;
while (performance.now() < deadline) {
  const next = await client.query<{ b: string }>(`select nextval('bench_ceiling_batch') - 1 as b`);
  await client.query({ name: 'pay100', text, values: [next.rows[0]?.b] });
  batches++;
}
await client.end();
process.send?.(batches);
process.exit(0);
