/**
 * Kill switches: every switch with its position, what is in force (a parent off turns its children
 * off), and the last change. Changing one asks for a reason and an explicit confirmation; every
 * process obeys within a second. The history of changes comes from the audit log.
 */
import { useI18n } from '../../shared/i18n.tsx';
import { Card } from '../../shared/ui.tsx';
import { ActionButton, Loading, Pill, Table, useLoad, When } from '../common.tsx';
import { ops, useSession } from '../session.tsx';
import { useOperatorNames } from './operators.tsx';

interface SwitchView { name: string; description: string; state: string; effective: string; lastChange: null | { state: string; reason: string; changedBy: string; changedAt: string; version: number } }
interface AuditEvent { id: string; occurredAt: string; actorId: string; action: string; targetId: string | null; reason: string | null }

interface SwitchTree { view: SwitchView; children: SwitchTree[] }

/** Switches as the hierarchy they obey: each under its nearest ancestor that is itself a switch (`funding` › `funding.card`). */
export function treeOf(switches: readonly SwitchView[]): SwitchTree[] {
  const nodes = new Map(switches.map((view) => [view.name, { view, children: [] as SwitchTree[] }]));
  const roots: SwitchTree[] = [];
  for (const node of nodes.values()) {
    const parts = node.view.name.split('.');
    let parent: SwitchTree | undefined;
    for (let length = parts.length - 1; length > 0 && parent === undefined; length--) parent = nodes.get(parts.slice(0, length).join('.'));
    (parent?.children ?? roots).push(node);
  }
  return roots;
}

/** One switch and, nested below it, the switches it also turns off. */
function SwitchNode(props: { node: SwitchTree; changedBy(who: string): string; onDone(): void }) {
  const { t } = useI18n();
  const session = useSession();
  const s = props.node.view;
  const off = s.effective === 'off';
  const turnTo = s.state === 'on' ? 'off' : 'on';
  return (
    <>
      <div className={`switch ${off ? 'is-off' : ''}`} data-switch={s.name}>
        <div className="switch-head">
          <code className="switch-name">{s.name}</code>
          <Pill tone={off ? 'bad' : 'ok'}>{off ? t('switches.off') : t('switches.on')}</Pill>
          {s.state === 'on' && off ? <Pill tone="warn">{t('switches.offByParent')}</Pill> : null}
        </div>
        <p className="switch-description">{s.description}</p>
        {s.lastChange ? (
          <p className="hint">{t('switches.lastChange', { state: s.lastChange.state, who: props.changedBy(s.lastChange.changedBy) })} <When at={s.lastChange.changedAt} /> — “{s.lastChange.reason}”</p>
        ) : <p className="hint">{t('switches.neverChanged')}</p>}
        {session.can('switches.change') ? (
          <ActionButton variant={turnTo === 'off' ? 'danger' : 'primary'} label={turnTo === 'off' ? t('switches.turnOff') : t('switches.turnOn')}
            title={t(turnTo === 'off' ? 'switches.confirmOff' : 'switches.confirmOn', { name: s.name })}
            description={<p>{t(turnTo === 'off' ? 'switches.effectOff' : 'switches.effectOn', { name: s.name })}</p>}
            confirmLabel={t(turnTo === 'off' ? 'switches.confirmOffButton' : 'switches.confirmOnButton', { name: s.name })}
            run={(reason) => ops('PUT', `/v1/ops/switches/${encodeURIComponent(s.name)}`, { state: turnTo, reason })} onDone={props.onDone} />
        ) : null}
      </div>
      {props.node.children.length === 0 ? null : (
        <ul className="switch-children" aria-label={t('switches.children', { name: s.name })}>
          {props.node.children.map((child) => <li key={child.view.name}><SwitchNode node={child} changedBy={props.changedBy} onDone={props.onDone} /></li>)}
        </ul>
      )}
    </>
  );
}

export function SwitchesScreen() {
  const { t } = useI18n();
  const session = useSession();
  const names = useOperatorNames();
  const loaded = useLoad<{ switches: SwitchView[] }>('/v1/ops/switches', 10_000);
  const history = useLoad<{ events: AuditEvent[] }>(session.can('audit.read') ? '/v1/ops/audit?targetKind=switch&limit=50' : null);
  const changedBy = (who: string) => (who.startsWith('operator:') ? names(who.slice(9)) : names(who));
  const reloadAll = () => { void loaded.reload(); void history.reload(); };
  return (
    <>
      <h2 className="screen-title">{t('nav.switches')}</h2>
      <p className="hint">{t('switches.note')}</p>
      {loaded.data === null ? <Loading loaded={loaded} /> : (
        <ul className="switch-list">
          {treeOf(loaded.data.switches).map((node) => (
            <li key={node.view.name} className="switch-family"><SwitchNode node={node} changedBy={changedBy} onDone={reloadAll} /></li>
          ))}
        </ul>
      )}
      {session.can('audit.read') ? (
        <Card title={t('switches.history')}>
          {history.data === null ? <Loading loaded={history} /> : (
            <Table caption={t('switches.history')} head={[t('col.when'), t('col.switch'), t('col.change'), t('col.who'), t('col.reason')]} empty={history.data.events.length === 0}>
              {history.data.events.map((e) => (
                <tr key={e.id}><td><When at={e.occurredAt} /></td><td><code>{e.targetId}</code></td><td>{e.action === 'switch.turned_off' ? t('switches.off') : t('switches.on')}</td>
                  <td>{names(e.actorId)}</td><td>{e.reason ?? '—'}</td></tr>
              ))}
            </Table>
          )}
        </Card>
      ) : null}
    </>
  );
}
