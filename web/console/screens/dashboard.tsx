/** The live dashboard: refreshed every few seconds while the tab is visible. */
import { useI18n } from '../../shared/i18n.tsx';
import { formatClock } from '../../shared/time.ts';
import { Card, ConnectionLost } from '../../shared/ui.tsx';
import { Link } from '../../shared/router.tsx';
import { BarChart, HBarChart, Loading, Money, Pill, useLoad, When } from '../common.tsx';
import { useSession } from '../session.tsx';

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

/** GET /v1/ops/sign-in-health (issue 13): sign-in failures and abandoned second factors across all networks. */
interface SignInHealth {
  windowMinutes: number;
  baselineMinutes: number;
  abandonAfterMinutes: number;
  window: { attempts: number; failures: number; failedRate: number; pending: number; abandoned: number; abandonedShare: number; failingNetworks: number };
  baseline: { failedRate: number; abandonedShare: number };
  minutes: Array<{ minute: string; attempts: number; failures: number; pending: number; abandoned: number }>;
  alerts: Array<{ occurredAt: string; reasons: string[] }>;
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
      <SignInHealthCards />
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

/** Only for roles that may read security events (the route's permission); others see nothing of it. */
function SignInHealthCards() {
  const { can } = useSession();
  return can('security_events.read') ? <SignInHealthPanel /> : null;
}

function SignInHealthPanel() {
  const { t } = useI18n();
  const loaded = useLoad<SignInHealth>('/v1/ops/sign-in-health', DASHBOARD_REFRESH_MS);
  const h = loaded.data;
  if (h === null) return null;
  const latest = h.alerts[0];
  return (
    <>
      <div className="stats" data-testid="sign-in-health">
        <Stat label={t('dashboard.signInFailedRate', { n: h.windowMinutes })} value={percent(h.window.failedRate)} testId="sign-in-failed-rate"
          sub={t('dashboard.signInFailedSub', { failures: h.window.failures, attempts: h.window.attempts, networks: h.window.failingNetworks, baseline: percent(h.baseline.failedRate) })} />
        <Stat label={t('dashboard.signInAbandoned', { n: h.abandonAfterMinutes })} value={percent(h.window.abandonedShare)} testId="sign-in-abandoned-share"
          sub={t('dashboard.signInAbandonedSub', { abandoned: h.window.abandoned, pending: h.window.pending, baseline: percent(h.baseline.abandonedShare) })} />
        <Stat label={t('dashboard.signInAlerts')} value={String(h.alerts.length)} tone={h.alerts.length > 0 ? 'bad' : undefined} link="/security-events" testId="sign-in-alerts"
          sub={latest === undefined ? t('dashboard.signInNoAlert') : <>{latest.reasons.join(', ')} · <When at={latest.occurredAt} /></>} />
      </div>
      <div className="grid-2">
        <Card title={t('dashboard.signInFailuresPerMinute')}>
          <BarChart label={t('dashboard.signInFailuresPerMinute')} tone="red" points={h.minutes.map((m) => ({ key: m.minute, value: m.failures, label: hhmm(m.minute) }))} />
        </Card>
        <Card title={t('dashboard.signInAbandonedPerMinute')}>
          <BarChart label={t('dashboard.signInAbandonedPerMinute')} tone="ink" points={h.minutes.map((m) => ({ key: m.minute, value: m.abandoned, label: hhmm(m.minute) }))} />
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
