/**
 * Abolition of the prepaid instrument (資金決済法 Art. 20, issue 19), for administrators: whether the procedure is
 * under way and until when claims are taken; proposing it (claim period ≥ 60 days, a reason); approving a pending
 * proposal (another administrator: the server refuses the proposer); the outstanding-balances CSV for the regulator.
 * The API is src/wiring-abolition.ts; approval turns top-ups and sign-ups off, audited with the approver's reason.
 */
import { useId, useState } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Card, Notice } from '../../shared/ui.tsx';
import { ActionButton, Loading, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';

interface Procedure { active: boolean; startedAt: string | null; claimDeadline: string | null }
interface ProposalItem { id: string; kind: string; status: string; reason: string; proposedBy: string; proposedAt: string; summary: Record<string, unknown> }

const CLAIM_DAYS_MIN = 60;

function ProposeAbolition(props: { onDone(): void }) {
  const { t } = useI18n();
  const [claimDays, setClaimDays] = useState(String(CLAIM_DAYS_MIN));
  const id = useId();
  const extra = (
    <div className="field">
      <label htmlFor={id}>{t('abolition.claimDays')}</label>
      <input id={id} type="number" min={CLAIM_DAYS_MIN} max={365} required value={claimDays} onChange={(e) => setClaimDays(e.target.value)} />
      <p className="hint">{t('abolition.claimDaysHint')}</p>
    </div>
  );
  return (
    <ActionButton variant="danger" label={t('abolition.propose')} title={t('abolition.propose')} description={t('abolition.proposeNote')} extra={extra}
      run={(reason) => ops('POST', '/v1/ops/abolition/proposals', { claimDays: Number(claimDays), reason })} onDone={props.onDone} />
  );
}

export function AbolitionScreen() {
  const { t } = useI18n();
  const session = useSession();
  const procedure = useLoad<Procedure>('/v1/ops/abolition', 30_000);
  const proposals = useLoad<{ proposals: ProposalItem[] }>(session.can('proposals.read') ? '/v1/ops/proposals?status=pending' : null, 30_000);
  const pending = (proposals.data?.proposals ?? []).filter((p) => p.kind === 'abolition');
  const reload = () => { void procedure.reload(); void proposals.reload(); };
  const approve = (proposalId: string) => (reason: string) => ops('POST', `/v1/ops/abolition/proposals/${encodeURIComponent(proposalId)}/approve`, { reason });
  return (
    <>
      <h2 className="screen-title">{t('nav.abolition')}</h2>
      <p className="hint">{t('abolition.note')}</p>
      <Card title={t('abolition.state')}>
        {procedure.data === null ? <Loading loaded={procedure} /> : procedure.data.active ? (
          <div data-testid="abolition-active">
            <Notice kind="info">{t('abolition.active')}</Notice>
            <p>{t('abolition.startedAt')} <When at={procedure.data.startedAt} /> · {t('abolition.deadline')} <When at={procedure.data.claimDeadline} /></p>
            <a className="button secondary" href="/v1/ops/abolition/outstanding.csv" download>{t('abolition.csv')}</a>
          </div>
        ) : (
          <div data-testid="abolition-inactive">
            <p>{t('abolition.inactive')}</p>
            {session.can('abolition.propose') && pending.length === 0 ? <ProposeAbolition onDone={reload} /> : null}
          </div>
        )}
      </Card>
      {pending.length === 0 ? null : (
        <Card title={t('abolition.pending')}>
          {pending.map((proposal) => (
            <div key={proposal.id} className="row" data-proposal={proposal.id}>
              <p>
                <When at={proposal.proposedAt} /> · {t('abolition.claimDays')}: {String(proposal.summary['claimDays'] ?? '—')}<br />
                <span className="hint">{proposal.reason}</span>
              </p>
              {session.can('abolition.approve') ? (
                <ActionButton variant="danger" label={t('abolition.approve')} title={t('abolition.approve')} description={t('abolition.approveNote')}
                  run={approve(proposal.id)} onDone={reload} />
              ) : null}
            </div>
          ))}
        </Card>
      )}
    </>
  );
}
