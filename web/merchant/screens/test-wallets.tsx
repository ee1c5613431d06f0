/**
 * Test wallets (src/wallet/test-wallets.ts): sandbox customers with free test yen that pay only this merchant's
 * test mode. Make one, top it up, and get a payment code to present at a test till; order and store QRs are paid
 * through the API (`POST /v1/merchant/test-wallets/{id}/payments`).
 */
import { useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { ErrorNotice, Loading, Table, useLoad, When } from '../../console/common.tsx';

interface TestWallet { testWalletId: string; label: string; balance: number; createdAt: string }

const TOP_UP = 10_000;

export function TestWalletsCard() {
  const { t, language } = useI18n();
  const wallets = useLoad<{ testWallets: TestWallet[] }>('/v1/merchant/test-wallets');
  const [label, setLabel] = useState('');
  const [code, setCode] = useState<{ label: string; code: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (work: () => Promise<void>) => {
    setError(null);
    try { await work(); } catch (caught) { setError(caught); }
  };
  const create = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      await api('POST', '/v1/merchant/test-wallets', { label: label.trim() });
      setLabel('');
      await wallets.reload();
    });
  };
  return (
    <Card title={t('dev.testWallets')}>
      <p className="hint">{t('dev.testWalletsHint')}</p>
      <ErrorNotice error={error} />
      {code === null ? null : <Notice kind="success">{code.label}: <span className="secret">{code.code}</span></Notice>}
      {wallets.data === null ? <Loading loaded={wallets} /> : (
        <Table caption={t('dev.testWallets')} head={[t('dev.keyName'), t('dev.testBalance'), t('col.when'), '']} empty={wallets.data.testWallets.length === 0}>
          {wallets.data.testWallets.map((w) => (
            <tr key={w.testWalletId}><td>{w.label}</td><td>{formatYen(String(w.balance), language)}</td><td><When at={w.createdAt} /></td>
              <td className="row actions">
                <Button variant="secondary" onClick={() => void run(async () => {
                  await api('POST', `/v1/merchant/test-wallets/${w.testWalletId}/top-ups`, { amount: TOP_UP });
                  await wallets.reload();
                })}>{t('dev.testTopUp')} {formatYen(String(TOP_UP), language)}</Button>
                <Button variant="ghost" onClick={() => void run(async () => {
                  const minted = await api<{ code: string }>('POST', `/v1/merchant/test-wallets/${w.testWalletId}/payment-code`);
                  setCode({ label: `${w.label} — ${t('dev.testCode')}`, code: minted.code });
                })}>{t('dev.testCode')}</Button>
              </td></tr>
          ))}
        </Table>
      )}
      <form onSubmit={create} className="form-grid">
        <Field label={t('dev.testWalletLabel')} required maxLength={64} value={label} onChange={(e) => setLabel(e.target.value)} />
        <div><Button type="submit">{t('dev.newTestWallet')}</Button></div>
      </form>
    </Card>
  );
}
