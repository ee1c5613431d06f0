/**
 * A customer's account page: profile, wallet, history, devices, sessions, risk and cases, with the
 * actions the operator's role allows. Account actions are case actions on the server (each one a case
 * note and an audit event); without an open case, the action opens one first with the same reason.
 */
import { useState } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Notice } from '../../shared/ui.tsx';
import { Link } from '../../shared/router.tsx';
import { ActionButton, ErrorNotice, inTimeOrder, Loading, Money, Pill, Reference, Short, Table, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';
import { CustomerSecurityEvents } from './security-events.tsx';

export interface Reason { rule: string; action?: string; message?: string; observed?: unknown; threshold?: unknown }

interface Customer {
  id: string; status: string; createdAt: string; masked: boolean; recoveryCooldownUntil: string | null; credentialsResetRequired: boolean;
  contacts: Array<{ kind: string; value: string; verifiedAt: string }>;
  wallet: { accountId: string; status: string; balanceMinor: string; heldMinor: string } | null;
  devices: Array<{ id: string; label: string; createdAt: string; lastSeenAt: string }>;
  sessions: Array<{ id: string; deviceId: string | null; authMethods: string[]; ip: string | null; userAgent: string | null; createdAt: string; lastSeenAt: string }>;
  fundingSources: Array<{ id: string; kind: string; status: string; label: string; createdAt: string }>;
  riskEvents: Array<{ id: string; kind: string; decision: string; score: number; reasons: Reason[]; amountMinor: string | null; ip: string | null; deviceId: string | null; createdAt: string }>;
  riskLinks: Array<{ kind: string; key: string; blockable: boolean; blocked: boolean; firstSeen: string; lastSeen: string }>;
  cases: Array<{ id: string; status: string; source: string; alertCount: number; outcome: string | null; openedAt: string; assigneeId: string | null }>;
}

interface StatementPage { nextCursor: string | null; entries: Array<{ transferId: string; direction: string; amountMinor: string; code: string; reference: string | null; createdAt: string; holdStatus: string | null }> }

export function decisionTone(decision: string): 'ok' | 'warn' | 'bad' | 'muted' {
  return decision === 'allow' ? 'ok' : decision === 'deny' ? 'bad' : 'warn';
}

export function Reasons(props: { reasons: unknown }) {
  const reasons = Array.isArray(props.reasons) ? (props.reasons as Reason[]) : [];
  if (reasons.length === 0) return <span className="hint">—</span>;
  return <ul className="reasons">{reasons.map((r, i) => <li key={i}><code>{r.rule}</code> {r.message ?? ''}{r.threshold !== undefined ? ` (${String(r.observed)} / ${String(r.threshold)})` : ''}</li>)}</ul>;
}

export function CustomerScreen(props: { id: string }) {
  const { t } = useI18n();
  const session = useSession();
  const loaded = useLoad<Customer>(`/v1/ops/customers/${props.id}`);
  const c = loaded.data;
  if (c === null) return <Loading loaded={loaded} />;
  const openCase = c.cases.find((k) => k.status === 'open') ?? null;
  /** Runs a case action on the open case, opening one with the same reason first when there is none. */
  const onCase = (path: string) => async (reason: string) => {
    const caseId = openCase?.id ?? (await ops<{ caseId: string }>('POST', `/v1/ops/customers/${c.id}/case`, { reason })).caseId;
    await ops('POST', `/v1/ops/cases/${caseId}/${path}`, { reason });
  };
  const frozen = c.wallet?.status === 'frozen';
  return (
    <>
      <div className="screen-head">
        <h2 className="screen-title">{t('customer.title')} <Short id={c.id} /></h2>
        <div className="row-pills">
          <Pill tone={c.status === 'active' ? 'ok' : 'bad'}>{t(`status.${c.status}`)}</Pill>
          {c.wallet ? <Pill tone={frozen ? 'bad' : 'ok'}>{frozen ? t('customer.walletFrozen') : t('customer.walletActive')}</Pill> : null}
          {c.credentialsResetRequired ? <Pill tone="warn">{t('customer.resetRequired')}</Pill> : null}
          {c.recoveryCooldownUntil ? <Pill tone="warn">{t('customer.cooldown')}</Pill> : null}
        </div>
      </div>
      {c.masked ? <Notice kind="info">{t('customer.maskedNote')}</Notice> : null}
      <div className="grid-2">
        <Card title={t('customer.profile')}>
          <dl className="facts">
            {c.contacts.map((k) => <div key={k.kind}><dt>{t(`contact.${k.kind}`)}</dt><dd>{k.value}</dd></div>)}
            <div><dt>{t('customer.since')}</dt><dd><When at={c.createdAt} /></dd></div>
            <div><dt>{t('customer.id')}</dt><dd><code className="id wrap">{c.id}</code></dd></div>
          </dl>
        </Card>
        <Card title={t('customer.wallet')}>
          {c.wallet === null ? <p className="hint">{t('customer.noWallet')}</p> : (
            <>
              <p className="balance" data-testid="wallet-balance"><Money minor={c.wallet.balanceMinor} /></p>
              <p className="hint">{t('customer.held')} <Money minor={c.wallet.heldMinor} /></p>
            </>
          )}
        </Card>
      </div>
      <Card title={t('customer.actions')}>
        {openCase ? <p><Link to={`/cases/${openCase.id}`}>{t('customer.openCase')}</Link></p> : <p className="hint">{t('customer.noOpenCase')}</p>}
        {c.wallet && session.can('compensation.propose') ? <p><Link to={`/compensation?customer=${c.id}`}>{t('customer.pickForCompensation')}</Link></p> : null}
        <div className="row actions">
          {!frozen && session.can('accounts.freeze') && c.wallet ? <ActionButton variant="danger" label={t('action.freeze')} title={t('action.freezeTitle')} description={t('action.freezeText')} run={onCase('freeze')} onDone={loaded.reload} /> : null}
          {frozen && session.can('accounts.unfreeze') ? <ActionButton label={t('action.unfreeze')} title={t('action.unfreezeTitle')} run={onCase('unfreeze')} onDone={loaded.reload} /> : null}
          {session.can('customers.revoke_sessions') ? <ActionButton label={t('action.revoke')} title={t('action.revokeTitle')} run={onCase('revoke-sessions')} onDone={loaded.reload} /> : null}
          {session.can('customers.force_reset') ? <ActionButton variant="danger" label={t('action.forceReset')} title={t('action.forceResetTitle')} description={t('action.forceResetText')} run={onCase('force-reset')} onDone={loaded.reload} /> : null}
          {!openCase && session.can('cases.open') ? <ActionButton label={t('action.openCase')} title={t('action.openCase')} run={async (reason) => ops('POST', `/v1/ops/customers/${c.id}/case`, { reason })} onDone={loaded.reload} /> : null}
        </div>
      </Card>
      <StatementCard key={c.id} customerId={c.id} />
      {session.can('security_events.read') ? <CustomerSecurityEvents customerId={c.id} /> : null}
      <Card title={t('customer.riskEvents')}>
        <Table caption={t('customer.riskEvents')} head={[t('col.when'), t('col.kind'), t('col.decision'), t('col.score'), t('col.amount'), t('col.reasons')]} empty={c.riskEvents.length === 0}>
          {c.riskEvents.map((e) => (
            <tr key={e.id}>
              <td><When at={e.createdAt} /></td><td>{e.kind}</td><td><Pill tone={decisionTone(e.decision)}>{e.decision}</Pill></td><td>{e.score}</td>
              <td>{e.amountMinor ? <Money minor={e.amountMinor} /> : '—'}</td><td><Reasons reasons={e.reasons} /></td>
            </tr>
          ))}
        </Table>
      </Card>
      <Card title={t('customer.links')}>
        <p className="hint">{t('customer.linksHint')}</p>
        <Table caption={t('customer.links')} head={[t('col.kind'), t('col.key'), t('col.lastSeen'), t('col.action')]} empty={c.riskLinks.length === 0}>
          {c.riskLinks.map((l) => (
            <tr key={`${l.kind}-${l.key}`}>
              <td>{t(`link.${l.kind}`)}</td><td><code className="id wrap">{l.key}</code></td><td><When at={l.lastSeen} /></td>
              <td>{l.blocked ? (
                <div className="row">
                  <Pill tone="bad">{t('customer.blocked')}</Pill>
                  {session.can('risk.lists.change') ? (
                    <ActionButton label={t('action.unblock')} title={t('action.unblockTitle', { what: t(`link.${l.kind}`) })} description={<code className="id wrap">{l.key}</code>}
                      run={(reason) => ops('DELETE', `/v1/ops/risk/lists/blocked_${l.kind}/${encodeURIComponent(l.key)}?reason=${encodeURIComponent(reason)}`)} onDone={loaded.reload} />
                  ) : null}
                </div>
              ) : l.blockable && session.can('risk.lists.change') ? (
                <ActionButton variant="danger" label={t('action.block')} title={t('action.blockTitle', { what: t(`link.${l.kind}`) })} description={<code className="id wrap">{l.key}</code>}
                  run={(reason) => ops('POST', `/v1/ops/risk/lists/blocked_${l.kind}`, { value: l.key, reason })} onDone={loaded.reload} />
              ) : null}</td>
            </tr>
          ))}
        </Table>
      </Card>
      <div className="grid-2">
        <Card title={t('customer.devices')}>
          <Table caption={t('customer.devices')} head={[t('col.device'), t('col.lastSeen')]} empty={c.devices.length === 0}>
            {c.devices.map((d) => <tr key={d.id}><td>{d.label} <Short id={d.id} /></td><td><When at={d.lastSeenAt} /></td></tr>)}
          </Table>
        </Card>
        <Card title={t('customer.sessions')}>
          <Table caption={t('customer.sessions')} head={[t('col.started'), t('col.ip'), t('col.agent'), t('col.methods')]} empty={c.sessions.length === 0}>
            {c.sessions.map((s) => <tr key={s.id}><td><When at={s.createdAt} /></td><td>{s.ip ?? '—'}</td><td>{s.userAgent ?? '—'}</td><td>{s.authMethods.join(', ')}</td></tr>)}
          </Table>
        </Card>
        <Card title={t('customer.funding')}>
          <Table caption={t('customer.funding')} head={[t('col.source'), t('col.status')]} empty={c.fundingSources.length === 0}>
            {c.fundingSources.map((f) => <tr key={f.id}><td>{f.label}</td><td>{f.status}</td></tr>)}
          </Table>
        </Card>
        <Card title={t('customer.cases')}>
          <Table caption={t('customer.cases')} head={[t('col.case'), t('col.status'), t('col.opened'), t('col.alerts')]} empty={c.cases.length === 0}>
            {c.cases.map((k) => <tr key={k.id}><td><Link to={`/cases/${k.id}`}><Short id={k.id} /></Link></td><td>{k.status}{k.outcome ? ` · ${k.outcome}` : ''}</td><td><When at={k.openedAt} /></td><td>{k.alertCount}</td></tr>)}
          </Table>
        </Card>
      </div>
    </>
  );
}


function StatementCard(props: { customerId: string }) {
  const { t } = useI18n();
  const [pages, setPages] = useState<StatementPage[]>([]);
  const [error, setError] = useState<unknown>(null);
  const base = `/v1/ops/customers/${props.customerId}/statement?limit=20`;
  const first = useLoad<StatementPage>(base);
  const all = [...(first.data ? [first.data] : []), ...pages];
  const next = all.at(-1)?.nextCursor ?? null;
  const more = async () => {
    try {
      const page = await ops<StatementPage>('GET', `${base}&cursor=${encodeURIComponent(next ?? '')}`);
      setPages((p) => [...p, page]);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Card title={t('customer.statement')}>
      {first.data === null ? <Loading loaded={first} /> : (
        <Table caption={t('customer.statement')} head={[t('col.when'), t('col.kind'), t('col.amount'), t('col.reference'), t('col.transfer')]} empty={all.every((p) => p.entries.length === 0)}>
          {inTimeOrder(all.flatMap((p) => p.entries)).map((e) => (
            <tr key={e.transferId}>
              <td><When at={e.createdAt} /></td><td>{t(`code.${e.code}`)}{e.holdStatus ? ` (${e.holdStatus})` : ''}</td>
              <td className={e.direction === 'in' ? 'amount-in' : 'amount-out'}>{e.direction === 'in' ? '+' : '−'}<Money minor={e.amountMinor} /></td>
              <td><Reference value={e.reference} /></td><td><Short id={e.transferId} /></td>
            </tr>
          ))}
        </Table>
      )}
      <ErrorNotice error={error} />
      {next ? <Button variant="secondary" onClick={more}>{t('common.more')}</Button> : null}
    </Card>
  );
}
