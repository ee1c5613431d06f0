/** The day's payments with search, and one payment's page: timeline, refunds, refund and cancel with a reason. */
import { useState } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Card, Field } from '../../shared/ui.tsx';
import { ActionButton, Loading, Money, Pill, Table, useLoad, When } from '../../console/common.tsx';
import { useSession } from '../session.tsx';

interface Sale {
  id: string; merchantPaymentId: string; status: string; amount: number; refunded: number; storeName: string | null; terminalName: string | null; createdAt: string; acceptedAt: string | null;
}

const todayInJapan = (): string => new Date(Date.now() + 9 * 3_600_000).toISOString().slice(0, 10);

export function SalesScreen() {
  const { t } = useI18n();
  const router = useRouter();
  const date = router.query.get('date') ?? todayInJapan();
  const [q, setQ] = useState(router.query.get('q') ?? '');
  const path = `/v1/merchant/payments?date=${date}${q.trim() === '' ? '' : `&q=${encodeURIComponent(q.trim())}`}`;
  const sales = useLoad<{ payments: Sale[] }>(path, 15_000);
  return (
    <Card title={t('sales.heading')}>
      <div className="form-grid">
        <Field label={t('sales.date')} type="date" value={date} onChange={(e) => router.navigate(`/?date=${e.target.value}`, { replace: true })} />
        <Field label={t('sales.search')} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
      </div>
      {sales.data === null ? <Loading loaded={sales} /> : (
        <Table caption={t('sales.heading')} head={[t('col.when'), t('col.receipt'), t('col.amount'), t('col.refunded'), t('col.status'), t('col.store'), t('col.terminal')]} empty={sales.data.payments.length === 0}>
          {sales.data.payments.map((p) => (
            <tr key={p.id}>
              <td><When at={p.acceptedAt ?? p.createdAt} /></td>
              <td><Link to={`/sales/${p.id}`}><code className="id wrap">{p.merchantPaymentId}</code></Link></td>
              <td><Money minor={String(p.amount)} /></td><td>{p.refunded === 0 ? '—' : <Money minor={String(p.refunded)} />}</td>
              <td><Pill tone={p.status === 'COMPLETED' ? 'ok' : p.status === 'FAILED' ? 'bad' : 'muted'}>{p.status}</Pill></td>
              <td>{p.storeName ?? '—'}</td><td>{p.terminalName ?? '—'}</td>
            </tr>
          ))}
        </Table>
      )}
    </Card>
  );
}

interface Detail { payment: Sale & { canceledAmount: number | null }; refunds: Array<{ id: string; amount: number; reason: string | null; status: string; createdAt: string }>; timeline: Array<{ at: string; kind: string; detail: string }> }

export function SaleScreen(props: { id: string }) {
  const { t } = useI18n();
  const session = useSession();
  const sale = useLoad<Detail>(`/v1/merchant/payments/${props.id}`);
  const [amount, setAmount] = useState('');
  if (sale.data === null) return <Loading loaded={sale} />;
  const p = sale.data.payment;
  const refundable = p.amount - p.refunded;
  return (
    <>
      <p><Link to="/">{t('sales.back')}</Link></p>
      <Card title={t('sales.detail')}>
        <div className="screen-head">
          <h2 className="screen-title"><Money minor={String(p.amount)} /></h2>
          <div className="row-pills"><Pill tone={p.status === 'COMPLETED' ? 'ok' : 'muted'}>{p.status}</Pill><code className="id wrap">{p.merchantPaymentId}</code></div>
        </div>
        <p className="hint">{p.storeName ?? '—'} · {p.terminalName ?? '—'} · <When at={p.acceptedAt ?? p.createdAt} /></p>
        {session.can('refund') && (p.status === 'COMPLETED') && refundable > 0 ? (
          <div className="row actions">
            <ActionButton label={t('sales.refund')} title={t('sales.refundTitle')} variant="primary"
              extra={<Field label={t('sales.refundAmount')} inputMode="numeric" required value={amount} onChange={(e) => setAmount(e.target.value.replace(/\D/g, ''))} />}
              run={(reason) => api('POST', `/v1/merchant/payments/${p.id}/refunds`, { amount: Number(amount), reason })} onDone={() => { setAmount(''); void sale.reload(); }} />
            <ActionButton label={t('sales.cancel')} title={t('sales.cancelTitle')} variant="danger"
              run={(reason) => api('POST', `/v1/merchant/payments/${p.id}/cancel`, { reason })} onDone={() => void sale.reload()} />
          </div>
        ) : null}
      </Card>
      <Card title={t('sales.timeline')}>
        <ol className="timeline">
          {sale.data.timeline.map((e, i) => <li key={`${e.kind}-${i}`}><When at={e.at} /><strong>{e.kind}</strong><span>{e.detail}</span></li>)}
        </ol>
      </Card>
    </>
  );
}
