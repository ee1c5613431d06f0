/**
 * Compensation with four eyes: flag fraudulent transfers, create a batch (from cases or from every
 * waiting flag) with each victim's loss computed from the ledger, propose it, have ANOTHER operator
 * approve or reject it, execute it, and download the CSVs for card issuers and banks. The incident
 * reset of every customer follows the same propose/decide rule. The server refuses self-approval; the
 * console says why before anyone tries.
 */
import { useState, type FormEvent } from 'react';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { formatInstant } from '../../shared/time.ts';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { ActionButton, ErrorNotice, inTimeOrder, Loading, Money, Pill, Reference, Short, Table, useLoad, useMorePages, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';
import { useOperatorNames } from './operators.tsx';

interface Flag { transferId: string; caseId: string | null; reason: string; flaggedBy: string; amountMinor: string; code: string; createdAt: string }
interface BatchSummary { id: string; title: string; status: string; createdBy: string; createdAt: string; proposalId: string | null; executedAt: string | null; totalMinor: string; victims: number }
interface Batch { id: string; title: string; status: string; createdBy: string; createdAt: string; proposalId: string | null; executedAt: string | null; totalMinor: string;
  items: Array<{ walletAccountId: string; customerRef: string | null; lossMinor: string; transferId: string; status: string }> }
interface Proposal { id: string; kind: string; subjectId: string; summary: unknown; reason: string; status: string; proposedBy: string; proposedAt: string; decidedBy: string | null; decidedAt: string | null }

const statusTone = (status: string) => (status === 'executed' || status === 'approved' ? 'ok' : status === 'rejected' ? 'bad' : 'warn');

export function CompensationScreen() {
  const { t } = useI18n();
  const session = useSession();
  const router = useRouter();
  const selected = router.query.get('batch');
  const flags = useLoad<{ flags: Flag[]; nextBefore: string | null }>('/v1/ops/compensation/flags');
  const olderFlags = useMorePages('/v1/ops/compensation/flags', flags.data?.nextBefore, 'before',
    (page: { flags: Flag[]; nextBefore: string | null }) => ({ items: page.flags, next: page.nextBefore }));
  const batches = useLoad<{ batches: BatchSummary[] }>('/v1/ops/compensation/batches?limit=200');
  const proposals = useLoad<{ proposals: Proposal[] }>('/v1/ops/proposals?limit=200');
  const reload = () => { olderFlags.reset(); void flags.reload(); void batches.reload(); void proposals.reload(); };
  return (
    <>
      <h2 className="screen-title">{t('nav.compensation')}</h2>
      {session.can('compensation.propose') ? <FlagForm onDone={reload} /> : null}
      <Card title={t('comp.flags')}>
        {flags.data === null ? <Loading loaded={flags} /> : (
          <Table caption={t('comp.flags')} head={[t('col.transfer'), t('col.kind'), t('col.amount'), t('col.reason'), t('col.when')]} empty={flags.data.flags.length === 0}>
            {[...flags.data.flags, ...olderFlags.items].map((f) => <tr key={f.transferId}><td><Short id={f.transferId} /></td><td>{t(`code.${f.code}`)}</td><td><Money minor={f.amountMinor} /></td><td>{f.reason}</td><td><When at={f.createdAt} /></td></tr>)}
          </Table>
        )}
        <ErrorNotice error={olderFlags.error} />
        {olderFlags.hasMore ? <Button variant="secondary" onClick={() => void olderFlags.more()}>{t('common.more')}</Button> : null}
        {session.can('compensation.propose') ? <BatchForm onCreated={(id) => { reload(); router.navigate(`/compensation?batch=${id}`); }} /> : null}
      </Card>
      <Card title={t('comp.batches')}>
        {batches.data === null ? <Loading loaded={batches} /> : (
          <Table caption={t('comp.batches')} head={[t('col.batch'), t('col.status'), t('col.victims'), t('col.total'), t('col.created')]} empty={batches.data.batches.length === 0}>
            {batches.data.batches.map((b) => (
              <tr key={b.id} className={b.id === selected ? 'selected' : undefined}>
                <td><Link to={`/compensation?batch=${b.id}`}>{b.title}</Link></td><td><Pill tone={statusTone(b.status)}>{t(`batch.${b.status}`)}</Pill></td>
                <td>{b.victims}</td><td><Money minor={b.totalMinor} /></td><td><When at={b.createdAt} /></td>
              </tr>
            ))}
          </Table>
        )}
      </Card>
      {selected ? <BatchDetail key={selected} id={selected} proposals={proposals.data?.proposals ?? []} onChanged={reload} /> : null}
      <IncidentCard proposals={(proposals.data?.proposals ?? []).filter((p) => p.kind === 'incident_reset_all')} onChanged={reload} />
    </>
  );
}

interface StatementPage { nextCursor: string | null; entries: Array<{ transferId: string; direction: string; amountMinor: string; code: string; reference: string | null; createdAt: string }> }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How many of the account's latest transactions the picker lists (the ledger's statement, newest first). */
const PICK_LIMIT = 50;

/**
 * Flag fraudulent transfers by ticking them in the account's transactions (`?customer=` from the
 * customer page, or an id typed here); the server checks each belongs to that account. Pasting ids
 * (from a ledger query) stays possible, folded away.
 */
function FlagForm(props: { onDone(): void }) {
  const { t, language } = useI18n();
  const router = useRouter();
  const [customerId, setCustomerId] = useState(router.query.get('customer') ?? '');
  const [picked, setPicked] = useState<ReadonlySet<string>>(new Set());
  const [ids, setIds] = useState('');
  const [caseId, setCaseId] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<number | null>(null);
  const account = UUID.test(customerId.trim()) ? customerId.trim().toLowerCase() : null;
  const statement = useLoad<StatementPage>(account === null ? null : `/v1/ops/customers/${account}/statement?limit=${PICK_LIMIT}`);
  const toggle = (transferId: string, on: boolean) => setPicked((current) => {
    const next = new Set(current);
    if (on) next.add(transferId); else next.delete(transferId);
    return next;
  });
  const pickedTotal = (statement.data?.entries ?? []).filter((e) => picked.has(e.transferId)).reduce((sum, e) => sum + BigInt(e.amountMinor), 0n);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const pasted = ids.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
      const fromAccount = account !== null && picked.size > 0;
      const transferIds = fromAccount ? [...picked] : pasted;
      const answer = await ops<{ flagged: number }>('POST', '/v1/ops/compensation/flags', {
        transferIds, reason, ...(fromAccount ? { customerId: account } : {}), ...(caseId.trim() ? { caseId: caseId.trim() } : {}) });
      setDone(answer.flagged);
      setIds('');
      setPicked(new Set());
      props.onDone();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <Card title={t('comp.flagTitle')}>
      <form onSubmit={submit}>
        <Field label={t('comp.account')} value={customerId} onChange={(e) => { setCustomerId(e.target.value); setPicked(new Set()); }} hint={t('comp.accountHint')} />
        {account === null ? null : statement.data === null ? <Loading loaded={statement} /> : (
          <fieldset className="pick-transfers">
            <legend>{t('comp.pickTransactions')}</legend>
            <Table caption={t('comp.pickTransactions')} head={[t('comp.pick'), t('col.when'), t('col.kind'), t('col.amount'), t('col.reference')]} empty={statement.data.entries.length === 0}>
              {inTimeOrder(statement.data.entries).map((e) => {
                const label = `${t(`code.${e.code}`)} ${e.direction === 'in' ? '+' : '−'}${formatYen(e.amountMinor, language)} ${formatInstant(e.createdAt)}`;
                return (
                  <tr key={e.transferId} className={picked.has(e.transferId) ? 'selected' : undefined}>
                    <td><input type="checkbox" aria-label={label} checked={picked.has(e.transferId)} onChange={(change) => toggle(e.transferId, change.target.checked)} /></td>
                    <td><When at={e.createdAt} /></td><td>{t(`code.${e.code}`)}</td>
                    <td className={e.direction === 'in' ? 'amount-in' : 'amount-out'}>{e.direction === 'in' ? '+' : '−'}<Money minor={e.amountMinor} /></td>
                    <td><Reference value={e.reference} /></td>
                  </tr>
                );
              })}
            </Table>
            <p role="status">{t('comp.picked', { n: picked.size })} <Money minor={pickedTotal.toString()} /></p>
          </fieldset>
        )}
        <details className="paste-ids">
          <summary>{t('comp.pasteInstead')}</summary>
          <div className="field">
            <label htmlFor="flag-ids">{t('comp.transferIds')}</label>
            <textarea id="flag-ids" rows={3} value={ids} onChange={(e) => setIds(e.target.value)} />
            <p className="hint">{t('comp.transferIdsHint')}</p>
          </div>
        </details>
        <Field label={t('comp.caseId')} value={caseId} onChange={(e) => setCaseId(e.target.value)} />
        <Field label={t('common.reason')} value={reason} onChange={(e) => setReason(e.target.value)} required minLength={3} maxLength={1000} />
        <ErrorNotice error={error} />
        {done !== null ? <Notice kind="success">{t('comp.flagged', { n: done })}</Notice> : null}
        <Button type="submit" variant="secondary" disabled={picked.size === 0 && ids.trim() === ''}>{t('comp.flag')}</Button>
      </form>
    </Card>
  );
}

function BatchForm(props: { onCreated(id: string): void }) {
  const { t } = useI18n();
  const [title, setTitle] = useState('');
  const [caseIds, setCaseIds] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const cases = caseIds.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
      const batch = await ops<{ id: string }>('POST', '/v1/ops/compensation/batches', { title, ...(cases.length > 0 ? { caseIds: cases } : {}) });
      setTitle('');
      props.onCreated(batch.id);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form onSubmit={submit} className="subform">
      <h3>{t('comp.createBatch')}</h3>
      <Field label={t('comp.batchTitle')} value={title} onChange={(e) => setTitle(e.target.value)} required minLength={3} maxLength={200} />
      <Field label={t('comp.fromCases')} value={caseIds} onChange={(e) => setCaseIds(e.target.value)} hint={t('comp.fromCasesHint')} />
      <ErrorNotice error={error} />
      <Button type="submit">{t('comp.create')}</Button>
    </form>
  );
}

/** Why the current operator may not decide: the four-eyes rule, said before the server refuses it. */
function FourEyes(props: { proposal: Proposal; approvePermission: string; onDecide(approve: boolean, reason: string): Promise<unknown>; onDone(): void }) {
  const { t } = useI18n();
  const session = useSession();
  const names = useOperatorNames();
  const { proposal } = props;
  const mine = proposal.proposedBy === session.me?.operatorId;
  return (
    <div className="four-eyes">
      <p>{t('comp.proposedBy', { who: names(proposal.proposedBy) })} <When at={proposal.proposedAt} /> — “{proposal.reason}”</p>
      {proposal.status !== 'pending' ? (
        <p>{t(proposal.status === 'approved' ? 'comp.approvedBy' : 'comp.rejectedBy', { who: proposal.decidedBy ? names(proposal.decidedBy) : '?' })} <When at={proposal.decidedAt} /></p>
      ) : mine ? (
        <Notice kind="info">{t('comp.ownProposal')}</Notice>
      ) : !session.can(props.approvePermission) ? (
        <Notice kind="info">{t('comp.roleCannotDecide')}</Notice>
      ) : (
        <div className="row actions">
          <ActionButton variant="primary" label={t('comp.approve')} title={t('comp.approveTitle')} run={(reason) => props.onDecide(true, reason)} onDone={props.onDone} />
          <ActionButton variant="danger" label={t('comp.reject')} title={t('comp.rejectTitle')} run={(reason) => props.onDecide(false, reason)} onDone={props.onDone} />
        </div>
      )}
    </div>
  );
}

function BatchDetail(props: { id: string; proposals: Proposal[]; onChanged(): void }) {
  const { t } = useI18n();
  const session = useSession();
  const loaded = useLoad<Batch>(`/v1/ops/compensation/batches/${props.id}`);
  const b = loaded.data;
  if (b === null) return <Loading loaded={loaded} />;
  const proposal = props.proposals.find((p) => p.id === b.proposalId) ?? null;
  const changed = () => { void loaded.reload(); props.onChanged(); };
  return (
    <Card title={t('comp.batch', { title: b.title })}>
      <p className="row-pills"><Pill tone={statusTone(b.status)}>{t(`batch.${b.status}`)}</Pill> <span>{t('comp.total')} <Money minor={b.totalMinor} /></span></p>
      <Table caption={t('comp.victims')} head={[t('col.customer'), t('col.wallet'), t('col.loss'), t('col.status')]} empty={b.items.length === 0}>
        {b.items.map((i) => (
          <tr key={i.walletAccountId}>
            <td>{i.customerRef ? <Link to={`/customers/${i.customerRef}`}><Short id={i.customerRef} /></Link> : '—'}</td><td><Short id={i.walletAccountId} /></td>
            <td data-testid="victim-loss"><Money minor={i.lossMinor} /></td><td>{i.status}</td>
          </tr>
        ))}
      </Table>
      {proposal ? (
        <FourEyes proposal={proposal} approvePermission="compensation.approve" onDone={changed}
          onDecide={(approve, reason) => ops('POST', `/v1/ops/compensation/batches/${b.id}/decision`, { approve, reason })} />
      ) : null}
      <div className="row actions">
        {(b.status === 'draft' || b.status === 'rejected') && session.can('compensation.propose') ? (
          <ActionButton variant="primary" label={t('comp.propose')} title={t('comp.proposeTitle')} description={t('comp.proposeText')} run={(reason) => ops('POST', `/v1/ops/compensation/batches/${b.id}/propose`, { reason })} onDone={changed} />
        ) : null}
        {(b.status === 'approved' || (b.status === 'executed' && b.items.some((i) => i.status !== 'paid'))) && session.can('compensation.execute') ? (
          <ActionButton variant="danger" label={t('comp.execute')} title={t('comp.executeTitle')} description={t('comp.executeText')} run={(reason) => ops('POST', `/v1/ops/compensation/batches/${b.id}/execute`, { reason })} onDone={changed} />
        ) : null}
        {session.can('compensation.export') ? (
          <>
            <a className="button secondary" href={`/v1/ops/compensation/batches/${b.id}/export?audience=card_issuers`} download>{t('comp.exportCards')}</a>
            <a className="button secondary" href={`/v1/ops/compensation/batches/${b.id}/export?audience=banks`} download>{t('comp.exportBanks')}</a>
          </>
        ) : null}
      </div>
    </Card>
  );
}

function IncidentCard(props: { proposals: Proposal[]; onChanged(): void }) {
  const { t } = useI18n();
  const session = useSession();
  const pending = props.proposals.filter((p) => p.status === 'pending');
  const recent = props.proposals.filter((p) => p.status !== 'pending').slice(0, 5);
  if (!session.can('incident.propose') && !session.can('incident.approve') && props.proposals.length === 0) return null;
  return (
    <Card title={t('incident.title')}>
      <p className="hint">{t('incident.note')}</p>
      {pending.length === 0 && session.can('incident.propose') ? (
        <ActionButton variant="danger" label={t('incident.propose')} title={t('incident.proposeTitle')} description={t('incident.proposeText')}
          run={(reason) => ops('POST', '/v1/ops/incident/reset-all', { reason })} onDone={props.onChanged} />
      ) : null}
      {[...pending, ...recent].map((p) => (
        <FourEyes key={p.id} proposal={p} approvePermission="incident.approve" onDone={props.onChanged}
          onDecide={(approve, reason) => ops('POST', `/v1/ops/incident/reset-all/${p.id}/decision`, { approve, reason })} />
      ))}
    </Card>
  );
}
