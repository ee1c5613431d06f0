/**
 * Points and cashback campaigns (issue 19): each campaign with what it matches, its rate, cap and budget, what is
 * left of the budget and what it granted. Defining one (`POST /v1/ops/campaigns`) asks for every term and a reason;
 * a budget at or above the four-eyes threshold comes back `proposed`, and another operator approves or rejects it
 * here. Ending one asks for a reason; the server audits every change (src/wiring-promo.ts).
 */
import { useId, useState } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Button } from '../../shared/ui.tsx';
import { ActionButton, ErrorNotice, Loading, Pill, Table, useLoad, useMorePages, When } from '../common.tsx';
import { ops } from '../session.tsx';

interface CampaignItem {
  campaignId: string; name: string; merchantId: string | null; categoryCode: string | null; rateBps: number; capPerCustomer: string;
  budget: string; remaining?: string; granted?: string; startsAt: string; endsAt: string; status: string; proposalId?: string;
}

const DAY_MS = 86_400_000;
const dateInput = (at: Date) => at.toISOString().slice(0, 10);

interface Draft { name: string; target: 'merchant' | 'category'; merchantId: string; categoryCode: string; ratePercent: string; cap: string; budget: string; starts: string; ends: string; validDays: string }

function emptyDraft(): Draft {
  const today = new Date();
  return { name: '', target: 'merchant', merchantId: '', categoryCode: '', ratePercent: '5', cap: '1000', budget: '100000', starts: dateInput(today), ends: dateInput(new Date(today.getTime() + 30 * DAY_MS)), validDays: '180' };
}

/** The API's body from the form: dates at local midnight, the rate in basis points. */
function campaignBody(draft: Draft, reason: string) {
  return {
    name: draft.name.trim(),
    ...(draft.target === 'merchant' ? { merchantId: draft.merchantId.trim() } : { categoryCode: draft.categoryCode.trim() }),
    rateBps: Math.round(Number(draft.ratePercent) * 100), capPerCustomer: draft.cap.trim(), budget: draft.budget.trim(),
    startsAt: new Date(`${draft.starts}T00:00:00`).toISOString(), endsAt: new Date(`${draft.ends}T00:00:00`).toISOString(),
    pointsValidDays: Number(draft.validDays), reason,
  };
}

function NewCampaign(props: { onDone(): void }) {
  const { t } = useI18n();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const id = useId();
  const set = (key: keyof Draft) => (event: { target: { value: string } }) => setDraft({ ...draft, [key]: event.target.value });
  const field = (key: keyof Draft, label: string, input: Record<string, unknown>) => (
    <div className="field">
      <label htmlFor={`${id}-${key}`}>{label}</label>
      <input id={`${id}-${key}`} value={draft[key]} onChange={set(key)} required {...input} />
    </div>
  );
  const fields = (
    <div className="form-grid" data-testid="campaign-form">
      {field('name', t('campaigns.name'), { maxLength: 100 })}
      <label className="select">{t('campaigns.matches')}
        <select value={draft.target} onChange={set('target')}>
          <option value="merchant">{t('campaigns.byMerchant')}</option>
          <option value="category">{t('campaigns.byCategory')}</option>
        </select>
      </label>
      {draft.target === 'merchant'
        ? field('merchantId', t('campaigns.merchantId'), { pattern: '[0-9a-fA-F-]{36}' })
        : field('categoryCode', t('campaigns.categoryCode'), { pattern: '[0-9]{4}', inputMode: 'numeric' })}
      {field('ratePercent', t('campaigns.ratePercent'), { type: 'number', min: 0.01, max: 100, step: 0.01 })}
      {field('cap', t('campaigns.cap'), { inputMode: 'numeric', pattern: '[1-9][0-9]{0,11}' })}
      {field('budget', t('campaigns.totalBudget'), { inputMode: 'numeric', pattern: '[1-9][0-9]{0,11}' })}
      {field('starts', t('campaigns.starts'), { type: 'date' })}
      {field('ends', t('campaigns.ends'), { type: 'date' })}
      {field('validDays', t('campaigns.validDays'), { type: 'number', min: 1, max: 3650 })}
      <p className="hint">{t('campaigns.fourEyesHint')}</p>
    </div>
  );
  return (
    <ActionButton variant="primary" label={t('campaigns.new')} title={t('campaigns.new')} extra={fields} confirmLabel={t('campaigns.create')}
      run={(reason) => ops('POST', '/v1/ops/campaigns', campaignBody(draft, reason))} onDone={() => { setDraft(emptyDraft()); props.onDone(); }} />
  );
}

function statusPill(status: string) {
  const tone = status === 'active' ? 'ok' : status === 'proposed' ? 'warn' : status === 'rejected' ? 'bad' : 'muted';
  return <Pill tone={tone}>{status}</Pill>;
}

export function CampaignsScreen() {
  const { t } = useI18n();
  const loaded = useLoad<{ items: CampaignItem[]; nextBefore: string | null }>('/v1/ops/campaigns', 15_000);
  const older = useMorePages('/v1/ops/campaigns', loaded.data?.nextBefore, 'before',
    (page: { items: CampaignItem[]; nextBefore: string | null }) => ({ items: page.items, next: page.nextBefore }));
  const end = (id: string) => (reason: string) => ops('POST', `/v1/ops/campaigns/${encodeURIComponent(id)}/end`, { reason });
  const decide = (proposalId: string, verb: 'approve' | 'reject') => (reason: string) =>
    ops('POST', `/v1/ops/campaigns/proposals/${encodeURIComponent(proposalId)}/${verb}`, { reason });
  const reload = () => { older.reset(); void loaded.reload(); };
  return (
    <>
      <h2 className="screen-title">{t('nav.campaigns')}</h2>
      <p className="hint">{t('campaigns.note')}</p>
      <div className="row"><NewCampaign onDone={reload} /></div>
      {loaded.data === null ? <Loading loaded={loaded} /> : (
        <Table caption={t('nav.campaigns')} empty={loaded.data.items.length === 0}
          head={[t('campaigns.name'), t('campaigns.matches'), t('campaigns.rate'), t('campaigns.budget'), t('campaigns.period'), t('campaigns.status')]}>
          {[...loaded.data.items, ...older.items].map((item) => (
            <tr key={item.campaignId} data-campaign={item.campaignId}>
              <td>{item.name}</td>
              <td><code>{item.merchantId ?? item.categoryCode}</code></td>
              <td>{(item.rateBps / 100).toFixed(2)}% · ≤ ¥{item.capPerCustomer}</td>
              <td>¥{item.remaining ?? '—'} / ¥{item.budget}<br /><span className="hint">{t('campaigns.granted')} ¥{item.granted ?? '0'}</span></td>
              <td><When at={item.startsAt} /> – <When at={item.endsAt} /></td>
              <td>
                {statusPill(item.status)}
                {item.status === 'active' ? (
                  <ActionButton variant="danger" label={t('campaigns.end')} title={t('campaigns.confirmEnd', { name: item.name })} needsReason
                    run={end(item.campaignId)} onDone={reload} />
                ) : null}
                {item.status === 'proposed' && item.proposalId !== undefined ? (
                  <>
                    <ActionButton variant="primary" label={t('campaigns.approve')} title={t('campaigns.confirmApprove', { name: item.name, budget: item.budget })}
                      description={t('campaigns.secondOperator')} run={decide(item.proposalId, 'approve')} onDone={reload} />
                    <ActionButton variant="danger" label={t('campaigns.reject')} title={t('campaigns.confirmReject', { name: item.name })}
                      run={decide(item.proposalId, 'reject')} onDone={reload} />
                  </>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      )}
      <ErrorNotice error={older.error} />
      {older.hasMore ? <Button variant="secondary" onClick={() => void older.more()}>{t('common.more')}</Button> : null}
    </>
  );
}
