/** Risk rules: thresholds and actions in force, editing with a reason (a new version), and each rule's history. */
import { useState } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card } from '../../shared/ui.tsx';
import { ActionButton, Loading, Pill, Table, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';
import { useOperatorNames } from './operators.tsx';

interface Rule { id: string; description: string; kinds: string[]; enabled: boolean; action: string; params: Record<string, unknown>; version: number }
interface Version { version: number; enabled: boolean; action: string; params: Record<string, unknown>; reason: string; changedBy: string; changedAt: string }

const ACTIONS = ['challenge', 'review', 'deny'] as const;

function show(value: unknown): string {
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Back to the type the rule declared: numbers stay numbers, amounts stay strings of digits, lists are split. */
function parseLike(original: unknown, text: string): unknown {
  if (Array.isArray(original)) return text.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof original === 'number') return Number(text);
  return text.trim();
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
  const { t } = useI18n();
  const session = useSession();
  const { rule } = props;
  const [draft, setDraft] = useState<Record<string, string>>(() => Object.fromEntries(Object.entries(rule.params).map(([k, v]) => [k, show(v)])));
  const [enabled, setEnabled] = useState(rule.enabled);
  const [action, setAction] = useState(rule.action);
  const [showHistory, setShowHistory] = useState(false);
  const canEdit = session.can('risk.rules.change');
  const changed = enabled !== rule.enabled || action !== rule.action || Object.entries(rule.params).some(([k, v]) => draft[k] !== show(v));
  const save = (reason: string) => ops('PATCH', `/v1/ops/risk/rules/${rule.id}`, {
    enabled, action, reason, params: Object.fromEntries(Object.entries(rule.params).map(([k, v]) => [k, parseLike(v, draft[k] ?? '')])),
  });
  return (
    <Card title={rule.id}>
      <div className="rule" data-rule={rule.id}>
        <p>{rule.description}</p>
        <p className="row-pills"><Pill tone={rule.enabled ? 'ok' : 'muted'}>{rule.enabled ? t('rules.enabled') : t('rules.disabled')}</Pill><Pill tone={rule.action === 'deny' ? 'bad' : 'warn'}>{rule.action}</Pill>
          <Pill>{t('rules.version', { n: rule.version })}</Pill><span className="hint">{rule.kinds.join(', ')}</span></p>
        <div className="params">
          {Object.keys(rule.params).map((name) => (
            <label key={name} className="param">
              <span>{name}</span>
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
