/**
 * Test fixture for throwaway.test.ts: an owner process that the test SIGKILLs. Starts a throwaway server,
 * registers a detached sleeper's process group with it (as the test runner does with vitest), prints
 * `{"dataDir","port","sleeperPid"}` as one JSON line, then waits to be killed.
 */
import { spawn } from 'node:child_process';
import { startThrowawayPostgres } from './throwaway.ts';

/** Bounded, so a test that forgets to kill us does not leave us (or the server) running forever. */
const LIFETIME_MS = 60_000;

const server = await startThrowawayPostgres({ label: 'fixture' });
const sleeper = spawn(process.execPath, ['-e', `setTimeout(() => {}, ${LIFETIME_MS})`], { detached: true, stdio: 'ignore' });
sleeper.unref();
const sleeperPid = sleeper.pid;
if (sleeperPid === undefined) throw new Error('could not spawn the sleeper');
server.registerProcessGroup(sleeperPid);
process.stdout.write(`${JSON.stringify({ dataDir: server.dataDir, port: server.port, sleeperPid })}\n`);
setTimeout(() => {
  process.kill(-sleeperPid, 'SIGKILL');
  void server.stop();
}, LIFETIME_MS);
