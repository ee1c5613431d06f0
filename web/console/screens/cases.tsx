/** Cases: the queue (status and assignee filters) and a case with its alerts, timeline and actions. */
import { useState } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card } from '../../shared/ui.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { ActionButton, ErrorNotice, Loading, Pill, Short, Table, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';
import { decisionTone, Reasons } from './customer.tsx';
import { isMerchantCase, MerchantCaseActions } from './merchant-case.tsx';
import { useOperatorNames } from './operators.tsx';

interface QueueCase { id: string; accountId: string; status: string; source: string; assigneeId: string | null; alertCount: number; outcome: string | null; openedAt: string; updatedAt: string; customerLabel: string | null; walletStatus: string | null; merchantName: string | null }
interface CaseDetail {
  id: string; accountId: string; status: string; source: string; assigneeId: string | null; alertCount: number; outcome: string | null; openedAt: string; updatedAt: string; closedAt: string | null;
  alerts: Array<{ riskEventId: string; decision: string; reasons: unknown; createdAt: string }>;
  notes: Array<{ id: string; author: string; kind: string; body: string; createdAt: string }>;
}

const OUTCOMES = ['fraud_confirmed', 'false_positive', 'customer_error', 'inconclusive'] as const;

export function CasesScreen() {
  const { t } = useI18n();
  const router = useRouter();
  const status = router.query.get('status') ?? 'open';
  const assignee = router.query.get('assignee') ?? '';
  const names = useOperatorNames();
  const params = new URLSearchParams();
  if (status !== 'all') params.set('status', status);
  if (assignee !== '') params.set('assignee', assignee);
  const path = `/v1/ops/case-queue?${params.toString()}`;
  const loaded = useLoad<{ cases: QueueCase[]; nextBefore: string | null }>(path, 15_000);
  // Older pages, kept while the first page refreshes (issue 13: paging on every operator list).
  const [older, setOlder] = useState<{ path: string; cases: QueueCase[]; nextBefore: string | null }>({ path, cases: [], nextBefore: null });
  const olderHere = older.path === path ? older : { path, cases: [], nextBefore: null };
  const cursor = olderHere.cases.length > 0 ? olderHere.nextBefore : loaded.data?.nextBefore ?? null;
  const [moreError, setMoreError] = useState<unknown>(null);
  const more = async () => {
    try {
      const page = await ops<{ cases: QueueCase[]; nextBefore: string | null }>('GET', `${path}&before=${encodeURIComponent(cursor ?? '')}`);
      setOlder({ path, cases: [...olderHere.cases, ...page.cases], nextBefore: page.nextBefore });
    } catch (caught) {
      setMoreError(caught);
    }
  };
  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(router.query);
    next.set(name, value);
    router.navigate(`/cases?${next.toString()}`, { replace: true });
  };
  return (
    <>
      <h2 className="screen-title">{t('nav.cases')}</h2>
      <Card>
        <div className="row filters">
          <label className="select">{t('cases.status')}
            <select value={status} onChange={(e) => setFilter('status', e.target.value)}>
              <option value="open">{t('cases.open')}</option><option value="closed">{t('cases.closed')}</option><option value="all">{t('cases.all')}</option>
            </select>
          </label>
          <label className="select">{t('cases.assignee')}
            <select value={assignee} onChange={(e) => setFilter('assignee', e.target.value)}>
              <option value="">{t('cases.anyone')}</option><option value="me">{t('cases.me')}</option><option value="none">{t('cases.nobody')}</option>
            </select>
          </label>
        </div>
      </Card>
      {loaded.data === null ? <Loading loaded={loaded} /> : (
        <Card title={t('cases.count', { n: loaded.data.cases.length + olderHere.cases.length })}>
          <Table caption={t('nav.cases')} head={[t('col.case'), t('col.customer'), t('col.status'), t('col.alerts'), t('col.assignee'), t('col.updated')]} empty={loaded.data.cases.length === 0}>
            {[...loaded.data.cases, ...olderHere.cases.filter((c) => !loaded.data?.cases.some((first) => first.id === c.id))].map((c) => (
              <tr key={c.id}>
                <td><Link to={`/cases/${c.id}`}>{t('cases.case')} <Short id={c.id} /></Link></td>
                <td>{c.merchantName !== null ? <>{t('merchantCase.merchant')}: {c.merchantName}</> : c.customerLabel ?? <Short id={c.accountId} />} {c.walletStatus === 'frozen' ? <Pill tone="bad">{t('customer.walletFrozen')}</Pill> : null}</td>
                <td>{c.status}{c.outcome ? ` · ${t(`outcome.${c.outcome}`)}` : ''} · {c.source}</td>
                <td>{c.alertCount}</td><td>{c.assigneeId ? names(c.assigneeId) : '—'}</td><td><When at={c.updatedAt} /></td>
              </tr>
            ))}
          </Table>
          <ErrorNotice error={moreError} />
          {cursor === null ? null : <Button variant="secondary" onClick={() => void more()}>{t('common.more')}</Button>}
        </Card>
      )}
    </>
  );
}

export function CaseScreen(props: { id: string }) {
  const { t } = useI18n();
  const session = useSession();
  const names = useOperatorNames();
  const loaded = useLoad<CaseDetail>(`/v1/ops/cases/${props.id}`);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<string>('fraud_confirmed');
  const c = loaded.data;
  if (c === null) return <Loading loaded={loaded} />;
  const open = c.status === 'open';
  // A merchant's case (issue 13) has the merchant's containment instead of the customer's account actions.
  const merchantCase = isMerchantCase(c.accountId);
  const customerCan = (permission: string) => !merchantCase && session.can(permission);
  const action = (path: string) => async (reason: string) => ops('POST', `/v1/ops/cases/${c.id}/${path}`, { reason });
  const author = (who: string) => (who.startsWith('operator:') ? names(who.slice(9)) : who);
  const addComment = async () => {
    try {
      await ops('POST', `/v1/ops/cases/${c.id}/comments`, { body: comment });
      setComment('');
      await loaded.reload();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <>
      <div className="screen-head">
        <h2 className="screen-title">{t('cases.case')} <Short id={c.id} /></h2>
        <div className="row-pills">
          <Pill tone={open ? 'warn' : 'muted'}>{c.status}</Pill>
          {c.outcome ? <Pill>{t(`outcome.${c.outcome}`)}</Pill> : null}
          <Pill>{c.source}</Pill>
        </div>
      </div>
      <Card title={t('cases.summary')}>
        <dl className="facts">
          {merchantCase
            ? <div><dt>{t('merchantCase.merchant')}</dt><dd><Link to={`/merchants/${c.accountId.slice('merchant:'.length)}`}><Short id={c.accountId.slice('merchant:'.length)} /></Link></dd></div>
            : <div><dt>{t('col.customer')}</dt><dd><Link to={`/customers/${c.accountId}`}>{t('cases.openAccount')} <Short id={c.accountId} /></Link></dd></div>}
          <div><dt>{t('col.assignee')}</dt><dd data-testid="case-assignee">{c.assigneeId ? names(c.assigneeId) : t('cases.nobody')}</dd></div>
          <div><dt>{t('col.opened')}</dt><dd><When at={c.openedAt} /></dd></div>
          <div><dt>{t('col.alerts')}</dt><dd>{c.alertCount}</dd></div>
        </dl>
        {open ? (
          <div className="row actions">
            {session.can('cases.work') && c.assigneeId !== session.me?.operatorId ? (
              <ActionButton label={t('cases.assignMe')} title={t('cases.assignMe')} run={(reason) => ops('POST', `/v1/ops/cases/${c.id}/assign`, { operatorId: session.me?.operatorId, reason })} onDone={loaded.reload} />
            ) : null}
            {customerCan('accounts.freeze') ? <ActionButton variant="danger" label={t('action.freeze')} title={t('action.freezeTitle')} description={t('action.freezeText')} run={action('freeze')} onDone={loaded.reload} /> : null}
            {customerCan('accounts.unfreeze') ? <ActionButton label={t('action.unfreeze')} title={t('action.unfreezeTitle')} run={action('unfreeze')} onDone={loaded.reload} /> : null}
            {customerCan('customers.revoke_sessions') ? <ActionButton label={t('action.revoke')} title={t('action.revokeTitle')} run={action('revoke-sessions')} onDone={loaded.reload} /> : null}
            {customerCan('customers.force_reset') ? <ActionButton variant="danger" label={t('action.forceReset')} title={t('action.forceResetTitle')} description={t('action.forceResetText')} run={action('force-reset')} onDone={loaded.reload} /> : null}
            {session.can('cases.close') ? (
              <ActionButton label={t('cases.close')} title={t('cases.close')} onDone={loaded.reload} run={(reason) => ops('POST', `/v1/ops/cases/${c.id}/close`, { outcome, reason })}
                extra={<label className="select">{t('cases.outcome')}<select value={outcome} onChange={(e) => setOutcome(e.target.value)}>{OUTCOMES.map((o) => <option key={o} value={o}>{t(`outcome.${o}`)}</option>)}</select></label>} />
            ) : null}
          </div>
        ) : null}
      </Card>
      {merchantCase ? <MerchantCaseActions caseId={c.id} open={open} onDone={() => void loaded.reload()} /> : null}
      <Card title={t('cases.alerts')}>
        <Table caption={t('cases.alerts')} head={[t('col.when'), t('col.decision'), t('col.reasons')]} empty={c.alerts.length === 0}>
          {c.alerts.map((a) => <tr key={a.riskEventId}><td><When at={a.createdAt} /></td><td><Pill tone={decisionTone(a.decision)}>{a.decision}</Pill></td><td><Reasons reasons={a.reasons} /></td></tr>)}
        </Table>
      </Card>
      <Card title={t('cases.timeline')}>
        <ol className="timeline">
          {c.notes.map((n) => <li key={n.id} className={n.kind}><When at={n.createdAt} /> · <strong>{author(n.author)}</strong><p>{n.body}</p></li>)}
        </ol>
        {open && session.can('cases.work') ? (
          <form onSubmit={(e) => { e.preventDefault(); void addComment(); }} className="comment-form">
            <label htmlFor="case-comment" className="field-label">{t('cases.comment')}</label>
            <textarea id="case-comment" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={4000} rows={3} required />
            <ErrorNotice error={error} />
            <Button type="submit" variant="secondary" disabled={comment.trim() === ''}>{t('cases.addComment')}</Button>
          </form>
        ) : null}
      </Card>
    </>
  );
}
