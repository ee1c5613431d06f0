/** The merchant review queue: applications oldest first; approve, reject with a reason, or ask for more. */
import { useI18n } from '../../shared/i18n.tsx';
import { Card } from '../../shared/ui.tsx';
import { Link } from '../../shared/router.tsx';
import { ActionButton, BarChart, Loading, Money, Pill, Table, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';

interface Application {
  id: string; name: string; nameLatin: string | null; corporateNumber: string | null; representative: string | null; contactEmail: string | null;
  expectedMonthlyVolume: number | null; reviewState: string | null; reviewNote: string | null; firstApprovedBy: string | null; appliedAt: string | null; categoryCode: string;
  resubmission: Resubmission | null;
}

interface Resubmission {
  version: number; submittedAt: string; requestedInfo: string | null; applicantNote: string | null;
  changed: Array<{ field: string; before: string | null; after: string | null }>;
}

/** A resubmitted application: which version, what was asked, the applicant's reply and each changed field (before → after). */
function ResubmissionNote(props: { resubmission: Resubmission }) {
  const { t } = useI18n();
  const r = props.resubmission;
  return (
    <div className="resubmission" data-testid="resubmission">
      <Pill tone="warn">{t('applications.resubmitted')} v{r.version}</Pill> <When at={r.submittedAt} />
      {r.requestedInfo ? <p className="hint">{t('applications.requested')}: {r.requestedInfo}</p> : null}
      {r.applicantNote ? <p>{t('applications.reply')}: {r.applicantNote}</p> : null}
      <ul className="changes">
        {r.changed.length === 0 ? <li>{t('applications.noChange')}</li> : r.changed.map((c) => <li key={c.field}>{c.field}: <del>{c.before ?? '—'}</del> → <ins>{c.after ?? '—'}</ins></li>)}
      </ul>
    </div>
  );
}

export function MerchantApplicationsScreen() {
  const { t } = useI18n();
  const session = useSession();
  const queue = useLoad<{ applications: Application[] }>('/v1/ops/merchant-applications');
  if (queue.data === null) return <Loading loaded={queue} />;
  const review = (id: string, decision: 'approve' | 'reject' | 'ask_for_more') => (reason: string) =>
    ops('POST', `/v1/ops/merchants/${id}/review`, reason === '' ? { decision } : { decision, reason });
  return (
    <Card title={t('applications.heading')}>
      <Table caption={t('applications.heading')} head={[t('col.when'), t('applications.business'), t('applications.volume'), t('col.status'), '']} empty={queue.data.applications.length === 0}>
        {queue.data.applications.map((a) => (
          <tr key={a.id}>
            <td><When at={a.appliedAt} /></td>
            <td><Link to={`/merchants/${a.id}`}>{a.name}</Link><br /><span className="hint">{a.nameLatin} · {a.corporateNumber} · {a.representative} · MCC {a.categoryCode} · {a.contactEmail}</span></td>
            <td>{a.expectedMonthlyVolume === null ? '—' : <Money minor={String(a.expectedMonthlyVolume)} />}</td>
            <td><Pill tone={a.reviewState === 'more_info_requested' ? 'warn' : 'muted'}>{a.reviewState ?? '—'}</Pill>{a.firstApprovedBy ? <><br /><span className="hint">{t('applications.firstApproval')}: {a.firstApprovedBy}</span></> : null}
              {a.reviewNote ? <><br /><span className="hint">{a.reviewNote}</span></> : null}
              {a.resubmission ? <ResubmissionNote resubmission={a.resubmission} /> : null}</td>
            <td className="row actions">
              {session.can('merchants.review') ? (
                <>
                  <ActionButton label={t('applications.approve')} title={`${t('applications.approve')}: ${a.name}`} variant="primary" needsReason={false} run={review(a.id, 'approve')} onDone={() => void queue.reload()} />
                  <ActionButton label={t('applications.askForMore')} title={`${t('applications.askForMore')}: ${a.name}`} run={review(a.id, 'ask_for_more')} onDone={() => void queue.reload()} />
                  <ActionButton label={t('applications.reject')} title={`${t('applications.reject')}: ${a.name}`} variant="danger" run={review(a.id, 'reject')} onDone={() => void queue.reload()} />
                </>
              ) : null}
            </td>
          </tr>
        ))}
      </Table>
    </Card>
  );
}

interface Overview {
  merchant: { status: string; statusReason: string | null; payoutsHeld: boolean; reviewState: string | null; expectedMonthlyVolume: number | null };
  stores: Array<{ id: string; name: string; status: string }>;
  salesByDay: Array<{ date: string; count: number; gross: number; refunded: number }>;
}

/** On a merchant's page: its state, suspend/reactivate, payout hold, store suspension (issue 13). */
export function MerchantContainment(props: { id: string }) {
  const { t } = useI18n();
  const session = useSession();
  const overview = useLoad<Overview>(`/v1/ops/merchants/${props.id}/overview`);
  if (overview.data === null) return <Loading loaded={overview} />;
  const m = overview.data.merchant;
  return (
    <Card title={t('containment.heading')}>
      <ContainmentActions status={m.status} statusReason={m.statusReason} payoutsHeld={m.payoutsHeld} stores={overview.data.stores} can={session.can('merchants.contain')}
        post={(path, body) => ops('POST', `/v1/ops/merchants/${props.id}/${path}`, body)} onDone={() => void overview.reload()} />
      <Volumes days={overview.data.salesByDay} expected={m.expectedMonthlyVolume} />
    </Card>
  );
}

/**
 * A merchant's state and the containment buttons: suspend/reactivate, payout hold, one store at a time. Shared by
 * the merchant's page (`/v1/ops/merchants/{id}/…`) and a merchant's case (`/v1/ops/cases/{id}/merchant/…`, which
 * records each action on the case): `post` names the path below either.
 */
export function ContainmentActions(props: {
  status: string; statusReason: string | null; payoutsHeld: boolean; stores: ReadonlyArray<{ id: string; name: string; status: string }>; can: boolean;
  post(path: string, body: object): Promise<unknown>; onDone(): void;
}) {
  const { t } = useI18n();
  const { post, onDone } = props;
  return (
    <>
      <div className="row-pills">
        <Pill tone={props.status === 'active' ? 'ok' : 'bad'}>{props.status}</Pill>
        {props.payoutsHeld ? <Pill tone="bad">{t('containment.payoutsHeld')}</Pill> : null}
        {props.statusReason ? <span className="hint">{props.statusReason}</span> : null}
      </div>
      {props.can ? (
        <div className="row actions">
          {props.status === 'active' ? <ActionButton label={t('containment.suspend')} title={t('containment.suspendTitle')} description={t('containment.suspendText')} variant="danger"
            run={(reason) => post('status', { status: 'suspended', reason })} onDone={onDone} /> : null}
          {props.status === 'suspended' ? <ActionButton label={t('containment.reactivate')} title={t('containment.reactivate')}
            run={(reason) => post('status', { status: 'active', reason })} onDone={onDone} /> : null}
          <ActionButton label={props.payoutsHeld ? t('containment.release') : t('containment.hold')} title={props.payoutsHeld ? t('containment.release') : t('containment.hold')}
            run={(reason) => post('payout-hold', { held: !props.payoutsHeld, reason })} onDone={onDone} />
        </div>
      ) : null}
      {props.can && props.stores.length > 0 ? (
        <ul className="chips">
          {props.stores.map((s) => (
            <li key={s.id}>{s.name} <Pill tone={s.status === 'active' ? 'ok' : 'bad'}>{s.status}</Pill>{' '}
              {s.status === 'closed' ? null : <ActionButton label={s.status === 'active' ? t('containment.suspendStore') : t('containment.reopenStore')} title={s.name}
                variant={s.status === 'active' ? 'danger' : 'secondary'}
                run={(reason) => post(`stores/${s.id}/status`, { status: s.status === 'active' ? 'suspended' : 'active', reason })} onDone={onDone} />}</li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

/** The last 30 days' sales, net of refunds, by day; beside what the merchant said it expected per month. */
function Volumes(props: { days: Overview['salesByDay']; expected: number | null }) {
  const { t } = useI18n();
  const byDay = new Map<string, number>();
  for (const d of props.days) byDay.set(d.date, (byDay.get(d.date) ?? 0) + d.gross - d.refunded);
  const total = [...byDay.values()].reduce((a, b) => a + b, 0);
  return (
    <>
      <p className="hint">{t('containment.volume30')}: <Money minor={String(total)} />{props.expected === null ? null : <> · {t('applications.volume')}: <Money minor={String(props.expected)} /></>}</p>
      {byDay.size === 0 ? null : <BarChart label={t('containment.volume30')} points={[...byDay].map(([date, value]) => ({ key: date, value, label: date }))} />}
    </>
  );
}

