/**
 * Watchdog for one throwaway PostgreSQL: `node tools/postgres/watchdog.ts '<ServerRecord JSON>'`.
 *
 * Started detached (own session, stdio ignored) by startThrowawayPostgres, so it outlives its owner when the
 * owner is SIGKILLed, which no exit handler can catch. It polls the owner; once the owner is gone it kills the
 * registered process groups, stops the postmaster and removes the data dir. When the data dir disappears
 * while the owner lives, the owner's stop() did the work and the watchdog just exits.
 */
import { existsSync } from 'node:fs';
import { cleanUpAfterOwner, isAlive, type ServerRecord } from './cleanup.ts';

const POLL_INTERVAL_MS = 250;

function parseRecord(json: string | undefined): ServerRecord {
  const value: unknown = JSON.parse(json ?? 'null');
  if (typeof value !== 'object' || value === null) throw new Error('watchdog: expected a server record');
  const record = value as Record<string, unknown>;
  const valid = typeof record['ownerPid'] === 'number' && record['ownerPid'] > 1 &&
    typeof record['dataDir'] === 'string' && typeof record['binDir'] === 'string' &&
    (record['runAsUser'] === null || typeof record['runAsUser'] === 'string');
  if (!valid) throw new Error(`watchdog: bad server record ${json}`);
  return value as ServerRecord;
}

function watch(record: ServerRecord): void {
  const timer = setInterval(() => {
    if (!existsSync(record.dataDir)) {
      clearInterval(timer);
      return;
    }
    if (isAlive(record.ownerPid)) return;
    clearInterval(timer);
    cleanUpAfterOwner(record).then(() => process.exit(0), () => process.exit(1));
  }, POLL_INTERVAL_MS);
}

watch(parseRecord(process.argv[2]));
