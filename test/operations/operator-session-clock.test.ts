/**
 * An operator session ends by Koban's one clock (src/platform/clock.ts), the clock that set its expiry at
 * sign-in, not by the database's now(): here Koban's clock moves on while the database's stays put.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { signInAs } from './support.ts';

const clock = { at: new Date() };
let env: Awaited<ReturnType<typeof startTestKoban>>;

beforeAll(async () => {
  env = await startTestKoban({ clock: () => clock.at });
});
afterAll(async () => env?.close());

it('refuses an operator session idle for longer than the idle timeout by Koban\'s clock', async () => {
  const koban = env.koban;
  const operator = await signInAs(koban, 'support');
  const session = () => koban.app.inject({ method: 'GET', url: '/v1/ops/session', headers: { cookie: operator.cookie } });
  expect((await session()).statusCode).toBe(200);
  // Within the idle window a request slides it on.
  clock.at = new Date(clock.at.getTime() + koban.config.operations.operatorIdleTimeoutMs - 60_000);
  expect((await session()).statusCode).toBe(200);
  clock.at = new Date(clock.at.getTime() + koban.config.operations.operatorIdleTimeoutMs + 1_000);
  const ended = await session();
  expect(ended.statusCode).toBe(401);
});
