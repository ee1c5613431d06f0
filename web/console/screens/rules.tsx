/**
 * Risk rules: thresholds and actions in force, in plain language (a label and unit per parameter, a
 * sentence per rule with its values), editing with a reason (a new version), a backtest of the proposed
 * change against the last days of recorded decisions before it is saved, and each rule's history.
 */
import { useState } from 'react';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Button, Card } from '../../shared/ui.tsx';
import { ActionButton, Loading, Money, Pill, Table, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';
import { useOperatorNames } from './operators.tsx';

interface ParamInfo { name: string; unit: string; min: string | null; max: string | null }
interface Rule { id: string; description: string; kinds: string[]; enabled: boolean; action: string; params: Record<string, unknown>; version: number; paramInfo: ParamInfo[]; replay: string }
type DecisionName = 'allow' | 'challenge' | 'review' | 'deny';
interface Backtest {
  days: number; replay: string; events: number; newlyFiring: number; noLongerFiring: number; notReplayable: number; truncated: boolean;
  changes: Array<{ from: DecisionName; to: DecisionName; count: number }>;
  examples: Array<{ eventId: string; kind: string; accountId: string | null; createdAt: string; amountMinor: string | null; before: DecisionName; after: DecisionName; observed: string | null }>;
}
const BACKTEST_DAYS = 7;
interface Version { version: number; enabled: boolean; action: string; params: Record<string, unknown>; reason: string; changedBy: string; changedAt: string }

const ACTIONS = ['challenge', 'review', 'deny'] as const;

function show(value: unknown): string {
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Back to the type the rule declared: numbers stay numbers, amounts stay strings of digits (¥ and commas dropped), lists are split. */
function parseLike(original: unknown, text: string): unknown {
  if (Array.isArray(original)) return text.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof original === 'number') return Number(text);
  return text.replace(/[\s,¥円]/g, '');
}

type T = ReturnType<typeof useI18n>['t'];

/** A value in words: ¥20,000, 10 min, 3 times. */
function valueText(t: T, language: 'ja' | 'en', unit: string | undefined, value: unknown): string {
  if (unit === 'yen' && /^[0-9]+$/.test(String(value))) return formatYen(String(value), language);
  if (unit === undefined || unit === 'codes') return show(value);
  return t(`unit.${unit}`, { n: show(value) });
}

/** One sentence: when the rule fires with these values, and what happens then. */
function summaryOf(t: T, language: 'ja' | 'en', rule: Rule, params: Record<string, unknown>, action: string, enabled: boolean): string {
  if (!enabled) return t('rules.summaryOff');
  const values = Object.fromEntries(rule.paramInfo.map((info) => [info.name, valueText(t, language, info.unit, params[info.name])]));
  return t('rules.then', { summary: t(`summary.${rule.id}`, values), action: t(`ruleAction.${action}`) });
}

export function RulesScreen() {
  const { t } = useI18n();
  const loaded = useLoad<{ rulesetVersion: number; rules: Rule[] }>('/v1/ops/risk/rules');
  if (loaded.data === null) return <Loading loaded={loaded} />;
  return (
    <>
      <h2 className="screen-title">{t('nav.rules')}</h2>
      <p className="hint">{t('rules.note', { version: loaded.data.rulesetVersion })}</p>
      <ul className="rule-list">
        {loaded.data.rules.map((rule) => <li key={`${rule.id}-${rule.version}`}><RuleCard rule={rule} onChanged={loaded.reload} /></li>)}
      </ul>
    </>
  );
}

function RuleCard(props: { rule: Rule; onChanged(): Promise<void> }) {
  const { t, language } = useI18n();
  const session = useSession();
  const { rule } = props;
  const [draft, setDraft] = useState<Record<string, string>>(() => Object.fromEntries(Object.entries(rule.params).map(([k, v]) => [k, show(v)])));
  const [enabled, setEnabled] = useState(rule.enabled);
  const [action, setAction] = useState(rule.action);
  const [showHistory, setShowHistory] = useState(false);
  const canEdit = session.can('risk.rules.change');
  const changed = enabled !== rule.enabled || action !== rule.action || Object.entries(rule.params).some(([k, v]) => draft[k] !== show(v));
  const proposal = { enabled, action, params: Object.fromEntries(Object.entries(rule.params).map(([k, v]) => [k, parseLike(v, draft[k] ?? '')])) };
  const save = (reason: string) => ops('PATCH', `/v1/ops/risk/rules/${rule.id}`, { ...proposal, reason });
  const units = new Map(rule.paramInfo.map((info) => [info.name, info.unit]));
  return (
    <Card title={rule.id}>
      <div className="rule" data-rule={rule.id}>
        <p className="rule-summary">{summaryOf(t, language, rule, rule.params, rule.action, rule.enabled)}</p>
        <p className="hint">{rule.description}</p>
        <p className="row-pills"><Pill tone={rule.enabled ? 'ok' : 'muted'}>{rule.enabled ? t('rules.enabled') : t('rules.disabled')}</Pill><Pill tone={rule.action === 'deny' ? 'bad' : 'warn'}>{rule.action}</Pill>
          <Pill>{t('rules.version', { n: rule.version })}</Pill><span className="hint">{rule.kinds.join(', ')}</span></p>
        <div className="params">
          {Object.keys(rule.params).map((name) => (
            <label key={name} className="param" data-param={name}>
              <span>{t(`param.${name}`)} <span className="unit">({t(`unitName.${units.get(name) ?? 'times'}`)})</span></span>
              <input value={draft[name] ?? ''} readOnly={!canEdit} onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} />
            </label>
          ))}
          {canEdit ? (
            <>
              <label className="param"><span>{t('rules.action')}</span>
                <select value={action} onChange={(e) => setAction(e.target.value)}>{ACTIONS.map((a) => <option key={a} value={a}>{a}</option>)}</select></label>
              <label className="param check"><input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /><span>{t('rules.enabled')}</span></label>
            </>
          ) : null}
        </div>
        {changed ? <p className="rule-summary proposed">{summaryOf(t, language, rule, proposal.params, action, enabled)}</p> : null}
        {canEdit ? <BacktestPanel ruleId={rule.id} proposal={proposal} changed={changed} /> : null}
        <div className="row actions">
          {canEdit ? <ActionButton variant="primary" label={t('rules.save')} title={t('rules.saveTitle', { rule: rule.id })} disabled={!changed} run={save}
            onDone={() => { void props.onChanged(); }} /> : null}
          <Button variant="secondary" onClick={() => setShowHistory(!showHistory)} aria-expanded={showHistory}>{showHistory ? t('rules.hideHistory') : t('rules.showHistory')}</Button>
        </div>
        {showHistory ? <RuleHistory key={rule.version} ruleId={rule.id} /> : null}
      </div>
    </Card>
  );
}

/** What the proposed change would have done to recorded decisions; shown next to it, before saving. */
function BacktestPanel(props: { ruleId: string; proposal: { enabled: boolean; action: string; params: Record<string, unknown> }; changed: boolean }) {
  const { t } = useI18n();
  const [days, setDays] = useState(String(BACKTEST_DAYS));
  const [result, setResult] = useState<{ key: string; backtest: Backtest } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const key = JSON.stringify([props.proposal, days]);
  const run = async () => {
    setRunning(true);
    setError(null);
    try {
      const backtest = await ops<Backtest>('POST', `/v1/ops/risk/rules/${props.ruleId}/backtest`, { ...props.proposal, days: Number(days) });
      setResult({ key, backtest });
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    } finally {
      setRunning(false);
    }
  };
  const shown = result?.backtest;
  const changedCount = shown?.changes.reduce((sum, change) => sum + change.count, 0) ?? 0;
  return (
    <div className="backtest" data-backtest={props.ruleId}>
      <div className="row actions">
        <label className="param"><span>{t('backtest.days')}</span>
          <input type="number" min={1} max={30} value={days} onChange={(e) => setDays(e.target.value)} /></label>
        <Button variant="secondary" disabled={!props.changed || running} onClick={() => { void run(); }}>{t('backtest.run', { days })}</Button>
      </div>
      {error === null ? null : <p role="alert" className="error">{error}</p>}
      {shown === undefined ? null : (
        <section aria-label={t('backtest.heading')} className="backtest-result" aria-live="polite">
          <h4>{t('backtest.heading')}</h4>
          {result?.key === key ? null : <p className="hint">{t('backtest.stale')}</p>}
          <p>{t('backtest.summary', { days: shown.days, events: shown.events, changed: changedCount })}</p>
          <ul>{shown.changes.map((change) => (
            <li key={`${change.from}-${change.to}`}>{t('backtest.change', { from: t(`decisionName.${change.from}`), to: t(`decisionName.${change.to}`), count: change.count })}</li>
          ))}</ul>
          <p>{t('backtest.firing', { newly: shown.newlyFiring, noLonger: shown.noLongerFiring })}</p>
          {shown.notReplayable > 0 ? <p className="hint">{t('backtest.notReplayable', { n: shown.notReplayable })}</p> : null}
          {shown.truncated ? <p className="hint">{t('backtest.truncated')}</p> : null}
          <p className="hint">{t(`backtest.replay.${shown.replay}`)}</p>
          {shown.examples.length === 0 ? null : (
            <Table caption={t('backtest.examples')} head={[t('col.when'), t('col.kind'), t('col.amount'), t('col.change')]}>
              {shown.examples.map((example) => (
                <tr key={example.eventId}><td><When at={example.createdAt} /></td><td>{example.kind}</td><td>{example.amountMinor === null ? '—' : <Money minor={example.amountMinor} />}</td>
                  <td>{t(`decisionName.${example.before}`)} → {t(`decisionName.${example.after}`)}</td></tr>
              ))}
            </Table>
          )}
        </section>
      )}
    </div>
  );
}

function RuleHistory(props: { ruleId: string }) {
  const { t } = useI18n();
  const names = useOperatorNames();
  const loaded = useLoad<{ versions: Version[] }>(`/v1/ops/risk/rules/${props.ruleId}/history`);
  if (loaded.data === null) return <Loading loaded={loaded} />;
  return (
    <Table caption={t('rules.history')} head={[t('col.version'), t('col.when'), t('col.who'), t('col.reason'), t('col.settings')]} empty={loaded.data.versions.length === 0}>
      {loaded.data.versions.map((v) => (
        <tr key={v.version}><td>{v.version}</td><td><When at={v.changedAt} /></td><td>{v.changedBy.startsWith('operator:') ? names(v.changedBy.slice(9)) : v.changedBy}</td><td>{v.reason}</td>
          <td><code className="wrap">{v.enabled ? '' : 'disabled · '}{v.action} · {Object.entries(v.params).map(([k, val]) => `${k}=${show(val)}`).join(', ')}</code></td></tr>
      ))}
    </Table>
  );
}
