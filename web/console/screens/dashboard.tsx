/** The live dashboard: refreshed every few seconds while the tab is visible. */
import { useI18n } from '../../shared/i18n.tsx';
import { formatClock } from '../../shared/time.ts';
import { Card, ConnectionLost } from '../../shared/ui.tsx';
import { Link } from '../../shared/router.tsx';
import { BarChart, HBarChart, Loading, Money, Pill, useLoad, When } from '../common.tsx';

export const DASHBOARD_REFRESH_MS = 5_000;

interface Dashboard {
  generatedAt: string;
  minutes: Array<{ minute: string; payments: number; paymentsFailed: number; paymentsAmountMinor: string; topUps: number; topUpsFailed: number; topUpsAmountMinor: string }>;
  totals: { payments: number; paymentsAmountMinor: string; topUps: number; topUpsAmountMinor: string };
  risk: { decisions: number; allow: number; challenge: number; review: number; deny: number; declineRate: number; challengeRate: number; byRule: Array<{ rule: string; count: number }> };
  openCases: number;
  unassignedCases: number;
  openAlerts: number;
  switchesOff: Array<{ name: string; effective: string }>;
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const hhmm = formatClock;

export function DashboardScreen() {
  const { t } = useI18n();
  const loaded = useLoad<Dashboard>('/v1/ops/dashboard', DASHBOARD_REFRESH_MS);
  const d = loaded.data;
  if (d === null) return <Loading loaded={loaded} />;
  return (
    <>
      <div className="screen-head">
        <h2 className="screen-title">{t('nav.dashboard')}</h2>
        {loaded.error === null
          ? <p className="hint">{t('dashboard.updated')} <When at={d.generatedAt} /> · {t('dashboard.refresh')}</p>
          : <ConnectionLost lastUpdatedAt={loaded.lastUpdatedAt} onRetry={() => void loaded.reload()} />}
      </div>
      <div className="stats" aria-live="polite">
        <Stat label={t('dashboard.paymentsHour')} value={String(d.totals.payments)} sub={<Money minor={d.totals.paymentsAmountMinor} />} testId="payments-hour" />
        <Stat label={t('dashboard.topUpsHour')} value={String(d.totals.topUps)} sub={<Money minor={d.totals.topUpsAmountMinor} />} testId="top-ups-hour" />
        <Stat label={t('dashboard.declineRate')} value={percent(d.risk.declineRate)} sub={t('dashboard.ofDecisions', { n: d.risk.decisions })} tone={d.risk.declineRate > 0.05 ? 'bad' : undefined} />
        <Stat label={t('dashboard.challengeRate')} value={percent(d.risk.challengeRate)} sub={t('dashboard.review', { n: d.risk.review })} />
        <Stat label={t('dashboard.openCases')} value={String(d.openCases)} sub={t('dashboard.unassigned', { n: d.unassignedCases })} link="/cases" />
        <Stat label={t('dashboard.openAlerts')} value={String(d.openAlerts)} />
      </div>
      <Card title={t('dashboard.switchesOff')}>
        {d.switchesOff.length === 0 ? <p className="hint">{t('dashboard.allOn')}</p> : (
          <ul className="chips">{d.switchesOff.map((s) => <li key={s.name}><Link to="/switches"><Pill tone="bad">{s.name}</Pill></Link></li>)}</ul>
        )}
      </Card>
      <div className="grid-2">
        <Card title={t('dashboard.paymentsPerMinute')}>
          <BarChart label={t('dashboard.paymentsPerMinute')} points={d.minutes.map((m) => ({ key: m.minute, value: m.payments, label: hhmm(m.minute) }))} />
        </Card>
        <Card title={t('dashboard.topUpsPerMinute')}>
          <BarChart label={t('dashboard.topUpsPerMinute')} tone="ink" points={d.minutes.map((m) => ({ key: m.minute, value: m.topUps, label: hhmm(m.minute) }))} />
        </Card>
        <Card title={t('dashboard.failedPerMinute')}>
          <BarChart label={t('dashboard.failedPerMinute')} tone="red" points={d.minutes.map((m) => ({ key: m.minute, value: m.paymentsFailed + m.topUpsFailed, label: hhmm(m.minute) }))} />
        </Card>
        <Card title={t('dashboard.byRule')}>
          {d.risk.byRule.length === 0 ? <p className="hint">{t('dashboard.noFlags')}</p> : <HBarChart label={t('dashboard.byRule')} rows={d.risk.byRule.map((r) => ({ key: r.rule, value: r.count }))} />}
        </Card>
      </div>
    </>
  );
}

function Stat(props: { label: string; value: string; sub?: React.ReactNode; tone?: 'bad'; link?: string; testId?: string }) {
  const body = (
    <>
      <span className="stat-label">{props.label}</span>
      <span className={`stat-value ${props.tone ?? ''}`} data-testid={props.testId}>{props.value}</span>
      {props.sub ? <span className="stat-sub">{props.sub}</span> : null}
    </>
  );
  return <div className="stat">{props.link ? <Link to={props.link} className="stat-link">{body}</Link> : body}</div>;
}
