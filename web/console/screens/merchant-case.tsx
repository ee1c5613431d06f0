/**
 * A case about a merchant (`merchant:<id>`, money converging on it from recently changed accounts; issue 13):
 * contain it from the case — suspend it or one store, hold its payouts, and pick the payments from compromised
 * wallets to reverse (four eyes: another operator approves here or on the merchant's reversal).
 */
import { useState } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Card } from '../../shared/ui.tsx';
import { Link } from '../../shared/router.tsx';
import { ActionButton, Loading, Money, Pill, Short, Table, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';
import { ContainmentActions } from './merchant-applications.tsx';

interface MerchantCase {
  caseId: string;
  merchant: { id: string; name: string; status: string; statusReason: string | null; payoutsHeld: boolean };
  stores: Array<{ id: string; name: string; status: string }>;
  suspectPayments: Array<{ paymentId: string; merchantPaymentId: string; customerId: string | null; storeId: string | null; amount: number; refundable: number; acceptedAt: string | null; alerted: boolean; payerCase: boolean }>;
  pendingReversals: Array<{ id: string; proposedBy: string; proposedAt: string; reason: string; summary: { totalMinor?: string; payments?: unknown[] } }>;
}

export const isMerchantCase = (accountId: string): boolean => accountId.startsWith('merchant:');

export function MerchantCaseActions(props: { caseId: string; open: boolean; onDone(): void }) {
  const { t } = useI18n();
  const session = useSession();
  const loaded = useLoad<MerchantCase>(`/v1/ops/cases/${props.caseId}/merchant`);
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const v = loaded.data;
  if (v === null) return <Loading loaded={loaded} />;
  const m = v.merchant;
  const can = props.open && session.can('merchants.contain');
  const done = () => { void loaded.reload(); props.onDone(); };
  const post = (path: string, body: object) => ops('POST', `/v1/ops/cases/${props.caseId}/merchant/${path}`, body);
  const storeName = new Map(v.stores.map((s) => [s.id, s.name]));
  const pickedTotal = v.suspectPayments.filter((p) => picked.has(p.paymentId)).reduce((sum, p) => sum + p.refundable, 0);
  const toggle = (id: string) => setPicked((current) => {
    const next = new Set(current);
    if (next.has(id)) next.delete(id); else next.add(id);
    return next;
  });
  return (
    <>
      <Card title={t('merchantCase.heading')}>
        <p><Link to={`/merchants/${m.id}`}>{m.name}</Link></p>
        <ContainmentActions status={m.status} statusReason={m.statusReason} payoutsHeld={m.payoutsHeld} stores={v.stores} can={can} post={post} onDone={done} />
      </Card>
      <Card title={t('merchantCase.suspects')}>
        <p className="hint">{t('merchantCase.suspectsHint')}</p>
        <Table caption={t('merchantCase.suspects')} head={['', t('col.when'), t('col.order'), t('col.amount'), t('col.store'), t('col.customer'), t('merchantCase.why')]} empty={v.suspectPayments.length === 0}>
          {v.suspectPayments.map((p) => (
            <tr key={p.paymentId}>
              <td><input type="checkbox" aria-label={`${t('merchantCase.pick')} ${p.merchantPaymentId}`} checked={picked.has(p.paymentId)} onChange={() => toggle(p.paymentId)} disabled={!can} /></td>
              <td><When at={p.acceptedAt} /></td><td><code className="id wrap">{p.merchantPaymentId}</code></td><td><Money minor={String(p.refundable)} /></td>
              <td>{p.storeId ? storeName.get(p.storeId) ?? <Short id={p.storeId} /> : '—'}</td>
              <td>{p.customerId ? <Link to={`/customers/${p.customerId}`}><Short id={p.customerId} /></Link> : '—'}</td>
              <td>{p.alerted ? <Pill tone="warn">{t('merchantCase.alerted')}</Pill> : null} {p.payerCase ? <Pill tone="bad">{t('merchantCase.payerCase')}</Pill> : null}</td>
            </tr>
          ))}
        </Table>
        {can && v.suspectPayments.length > 0 ? (
          <div className="row actions">
            <ActionButton variant="danger" label={t('merchantCase.propose', { n: picked.size })} title={t('merchantCase.proposeTitle')} disabled={picked.size === 0}
              description={<p>{t('merchantCase.proposeText')} <Money minor={String(pickedTotal)} /></p>}
              run={(reason) => post('reversals', { paymentIds: [...picked], reason })} onDone={() => { setPicked(new Set()); done(); }} />
          </div>
        ) : null}
      </Card>
      {v.pendingReversals.length === 0 ? null : (
        <Card title={t('merchantCase.pending')}>
          <Table caption={t('merchantCase.pending')} head={[t('col.when'), t('col.amount'), t('col.reasons'), '']}>
            {v.pendingReversals.map((r) => (
              <tr key={r.id}>
                <td><When at={r.proposedAt} /></td><td><Money minor={r.summary.totalMinor ?? '0'} /> · {r.summary.payments?.length ?? 0}</td><td>{r.reason}</td>
                <td>{session.can('compensation.approve') && r.proposedBy !== session.me?.operatorId ? (
                  <>
                    <ActionButton variant="danger" label={t('merchantCase.approve')} title={t('merchantCase.approveTitle')} run={(reason) => ops('POST', `/v1/ops/merchant-reversals/${r.id}/decision`, { approve: true, reason })} onDone={done} />
                    <ActionButton label={t('merchantCase.reject')} title={t('merchantCase.reject')} run={(reason) => ops('POST', `/v1/ops/merchant-reversals/${r.id}/decision`, { approve: false, reason })} onDone={done} />
                  </>
                ) : <span className="hint">{t('merchantCase.waiting')}</span>}</td>
              </tr>
            ))}
          </Table>
        </Card>
      )}
    </>
  );
}
