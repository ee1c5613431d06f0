/**
 * The console's abolition screen in Chromium (issue 19, 資金決済法 Art. 20): one administrator proposes abolition with a
 * claim period and a reason, the same administrator sees no approve button take effect (the server refuses the
 * proposer), a second administrator approves on the same screen; the procedure is then under way with its deadline,
 * top-ups and sign-ups are switched off, and the outstanding-balances CSV is offered.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmWithReason, newOperator, signInThroughForm, startConsoleEnv, type ConsoleEnv } from './console-support.ts';

let env: ConsoleEnv;

beforeAll(async () => {
  env = await startConsoleEnv();
}, 120_000);
afterAll(async () => {
  await env?.close();
});

async function adminPage(): Promise<Page> {
  const admin = await newOperator(env.koban, 'administrator');
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  await signInThroughForm(page, env.base, admin, '/console/abolition');
  return page;
}

async function switchState(name: string): Promise<string | undefined> {
  return (await env.koban.db.pool.query<{ state: string }>('select state from operation_switches where name = $1', [name])).rows[0]?.state;
}

describe('console: abolition', () => {
  it('one administrator proposes, the proposer cannot approve, a second one approves and the procedure starts', async () => {
    const proposer = await adminPage();
    await proposer.getByTestId('abolition-inactive').waitFor();
    await proposer.getByRole('button', { name: 'Propose abolition' }).click();
    await proposer.getByRole('dialog').getByLabel('Claim period (days)').fill('90');
    await confirmWithReason(proposer, 'the board decided to end the prepaid service');
    const pending = proposer.locator('[data-proposal]');
    await pending.waitFor();
    expect(await pending.textContent()).toContain('the board decided to end the prepaid service');

    await pending.getByRole('button', { name: 'Approve and start abolition' }).click();
    const dialog = proposer.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('approving my own proposal');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await dialog.getByText(/proposer cannot approve/i).waitFor();
    expect(await env.koban.db.pool.query('select 1 from abolition_procedures').then((r) => r.rowCount)).toBe(0);

    const approver = await adminPage();
    const row = approver.locator('[data-proposal]');
    await row.getByRole('button', { name: 'Approve and start abolition' }).click();
    await confirmWithReason(approver, 'board minutes checked');
    await approver.getByTestId('abolition-active').waitFor();
    expect(await approver.getByRole('link', { name: /Outstanding balances CSV/ }).getAttribute('href')).toBe('/v1/ops/abolition/outstanding.csv');
    await expect.poll(() => switchState('top_ups')).toBe('off');
    expect(await switchState('registrations')).toBe('off');
  });
});
