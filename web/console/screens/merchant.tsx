/** A merchant: its stores and terminals, what it is owed, and its recent payments. */
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card } from '../../shared/ui.tsx';
import { Link } from '../../shared/router.tsx';
import { useState } from 'react';
import { ActionButton, ErrorNotice, Loading, Money, Pill, Short, Table, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';
import { MerchantContainment } from './merchant-applications.tsx';

interface Merchant {
  id: string; name: string; categoryCode: string; status: string; createdAt: string; receivableAccountId: string; receivableMinor: string;
  stores: Array<{ id: string; name: string; address: string; status: string; terminals: Array<{ id: string; name: string; status: string; codeLockedAt: string | null }> }>;
  recentPayments: Array<{ id: string; merchantPaymentId: string; status: string; amountMinor: string; storeId: string | null; terminalId: string | null; customerId: string | null; createdAt: string }>;
}

export function MerchantScreen(props: { id: string }) {
  const { t } = useI18n();
  const loaded = useLoad<Merchant>(`/v1/ops/merchants/${props.id}`);
  const m = loaded.data;
  if (m === null) return <Loading loaded={loaded} />;
  const storeName = new Map(m.stores.map((s) => [s.id, s.name]));
  return (
    <>
      <div className="screen-head">
        <h2 className="screen-title">{m.name}</h2>
        <div className="row-pills"><Pill tone={m.status === 'active' ? 'ok' : 'bad'}>{m.status}</Pill><Pill>MCC {m.categoryCode}</Pill></div>
      </div>
      <MerchantContainment id={m.id} />
      <Card title={t('merchant.receivable')}>
        <p className="balance"><Money minor={m.receivableMinor} /></p>
        <p className="hint">{t('merchant.since')} <When at={m.createdAt} /> · <code className="id wrap">{m.id}</code></p>
      </Card>
      <Card title={t('merchant.stores')}>
        <Table caption={t('merchant.stores')} head={[t('col.store'), t('col.status'), t('col.terminals')]} empty={m.stores.length === 0}>
          {m.stores.map((s) => (
            <tr key={s.id}><td>{s.name}<br /><span className="hint">{s.address}</span></td><td>{s.status}</td>
              <td>{s.terminals.length === 0 ? '—' : s.terminals.map((tl) => (
                <div key={tl.id} className="terminal-line">{tl.name} <Short id={tl.id} /> {tl.status === 'active' ? null : <Pill tone="bad">{tl.status}</Pill>}
                  {tl.status === 'active' ? <ActivationCode terminalId={tl.id} terminalName={`${s.name} ${tl.name}`} /> : null}
                  {tl.codeLockedAt === null ? null : <CodeLock terminalId={tl.id} terminalName={`${s.name} ${tl.name}`} lockedAt={tl.codeLockedAt} onDone={loaded.reload} />}</div>))}</td></tr>
          ))}
        </Table>
      </Card>
      <MerchantPayments id={m.id} storeName={storeName} />
    </>
  );
}

type MerchantPayment = Merchant['recentPayments'][number];

/** Every payment to the merchant, newest first, a page at a time (issue 13: paging on every operator list). */
function MerchantPayments(props: { id: string; storeName: ReadonlyMap<string, string> }) {
  const { t } = useI18n();
  const path = `/v1/ops/merchants/${props.id}/payments`;
  const loaded = useLoad<{ payments: MerchantPayment[]; nextBefore: string | null }>(path);
  const [older, setOlder] = useState<{ payments: MerchantPayment[]; nextBefore: string | null }>({ payments: [], nextBefore: null });
  const [moreError, setMoreError] = useState<unknown>(null);
  if (loaded.data === null) return <Loading loaded={loaded} />;
  const first = loaded.data;
  const cursor = older.payments.length > 0 ? older.nextBefore : first.nextBefore;
  const more = async () => {
    try {
      const page = await ops<{ payments: MerchantPayment[]; nextBefore: string | null }>('GET', `${path}?before=${encodeURIComponent(cursor ?? '')}`);
      setOlder({ payments: [...older.payments, ...page.payments], nextBefore: page.nextBefore });
    } catch (caught) {
      setMoreError(caught);
    }
  };
  const shown = [...first.payments, ...older.payments.filter((p) => !first.payments.some((f) => f.id === p.id))];
  return (
    <Card title={t('merchant.payments')}>
      <Table caption={t('merchant.payments')} head={[t('col.when'), t('col.order'), t('col.amount'), t('col.status'), t('col.store'), t('col.customer')]} empty={shown.length === 0}>
        {shown.map((p) => (
          <tr key={p.id}><td><When at={p.createdAt} /></td><td><code className="id wrap">{p.merchantPaymentId}</code></td><td><Money minor={p.amountMinor} /></td><td>{p.status}</td>
            <td>{p.storeId ? props.storeName.get(p.storeId) ?? p.storeId : '—'}</td><td>{p.customerId ? <Link to={`/customers/${p.customerId}`}><Short id={p.customerId} /></Link> : '—'}</td></tr>
        ))}
      </Table>
      <ErrorNotice error={moreError} />
      {cursor === null ? null : <Button variant="secondary" onClick={() => void more()}>{t('common.more')}</Button>}
    </Card>
  );
}

interface IssuedCode { terminalId: string; code: string; expiresAt: string }

/** A one-time code that turns a browser into this terminal's till (a new tablet at the store); audited. */
function ActivationCode(props: { terminalId: string; terminalName: string }) {
  const { t } = useI18n();
  const session = useSession();
  const [issued, setIssued] = useState<IssuedCode | null>(null);
  if (!session.can('terminals.activate')) return null;
  return (
    <>
      <ActionButton label={t('merchant.activationCode')} title={`${t('merchant.activationCodeTitle')}: ${props.terminalName}`} description={t('merchant.activationCodeText')}
        needsReason={false} confirmLabel={t('merchant.activationCodeIssue')}
        run={async () => setIssued(await ops<IssuedCode>('POST', `/v1/ops/terminals/${props.terminalId}/activation-codes`))} />
      {issued === null ? null : (
        <p className="activation-code" role="status">{t('merchant.activationCodeIs')} <strong><code>{issued.code}</code></strong> · {t('merchant.activationCodeUntil')} <When at={issued.expiresAt} /></p>
      )}
    </>
  );
}

/** A till locked after too many unknown, expired or used customer codes (issue 14): unlocked with a reason, audited. */
function CodeLock(props: { terminalId: string; terminalName: string; lockedAt: string; onDone(): void }) {
  const { t } = useI18n();
  const session = useSession();
  return (
    <>
      <Pill tone="bad">{t('merchant.codeLocked')}</Pill> <span className="hint"><When at={props.lockedAt} /></span>
      {session.can('terminals.unlock') ? (
        <ActionButton label={t('merchant.unlock')} title={`${t('merchant.unlockTitle')}: ${props.terminalName}`} description={t('merchant.unlockText')}
          run={(reason) => ops('POST', `/v1/ops/terminals/${props.terminalId}/unlock`, { reason })} onDone={props.onDone} />
      ) : null}
    </>
  );
}
