/** Stores (create, edit, printable QR poster) and tills (register, activation code on the spot, last active, revoke). */
import { useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { ActionButton, ErrorNotice, Loading, Pill, Table, useLoad, When } from '../../console/common.tsx';
import { useSession } from '../session.tsx';

interface Store { id: string; name: string; address: string; city: string; cityLocal: string | null; postalCode: string; status: string }
interface Terminal { id: string; storeId: string; name: string; status: string; lastActiveAt: string | null }

export function StoresScreen() {
  const { t } = useI18n();
  const session = useSession();
  const stores = useLoad<{ stores: Store[] }>('/v1/merchant/stores');
  const terminals = useLoad<{ terminals: Terminal[] }>(session.can('terminals') ? '/v1/merchant/terminals' : null);
  const [editing, setEditing] = useState<Store | null>(null);
  if (stores.data === null) return <Loading loaded={stores} />;
  const storeName = new Map(stores.data.stores.map((s) => [s.id, s.name]));
  const canEdit = session.can('storesManage');
  return (
    <>
      <Card title={t('stores.heading')}>
        <Table caption={t('stores.heading')} head={[t('stores.name'), t('stores.address'), t('col.status'), t('stores.poster')]} empty={stores.data.stores.length === 0}>
          {stores.data.stores.map((s) => (
            <tr key={s.id}>
              <td>{s.name}</td>
              <td>〒{s.postalCode} {s.address}<br /><span className="hint">{s.cityLocal ?? ''} {s.city}</span></td>
              <td><Pill tone={s.status === 'active' ? 'ok' : 'bad'}>{s.status}</Pill></td>
              <td className="poster-links">
                {(['A5', 'A4'] as const).flatMap((size) => (['pdf', 'png'] as const).map((format) => (
                  <a key={`${size}${format}`} className="button secondary" href={`/v1/merchant/stores/${s.id}/poster.${format}?size=${size}`} target="_blank" rel="noopener"
                    aria-label={`${t('stores.poster')} ${size} ${format.toUpperCase()}`}>{size} {format.toUpperCase()}</a>
                )))}
                <a className="button secondary" href={`/v1/merchant/stores/${s.id}/qr.png`} download={`koban-qr-${s.id}.png`}>{t('stores.qrPng')}</a>
                {canEdit ? <Button variant="ghost" onClick={() => setEditing(s)}>{t('stores.edit')}</Button> : null}
              </td>
            </tr>
          ))}
        </Table>
      </Card>
      {session.can('storesManage') ? <StoreForm key={editing?.id ?? 'new'} store={editing} onDone={() => { setEditing(null); void stores.reload(); }} /> : null}
      {terminals.data === null ? null : (
        <Card title={t('terminals.heading')}>
          <Table caption={t('terminals.heading')} head={[t('terminals.name'), t('terminals.store'), t('col.status'), t('terminals.lastActive'), '']} empty={terminals.data.terminals.length === 0}>
            {terminals.data.terminals.map((tl) => (
              <tr key={tl.id}>
                <td>{tl.name}</td><td>{storeName.get(tl.storeId) ?? '—'}</td>
                <td><Pill tone={tl.status === 'active' ? 'ok' : 'bad'}>{tl.status}</Pill></td><td><When at={tl.lastActiveAt} /></td>
                <td>{session.can('terminalsManage') && tl.status === 'active' ? <TerminalActions terminal={tl} onDone={() => void terminals.reload()} /> : null}</td>
              </tr>
            ))}
          </Table>
        </Card>
      )}
      {session.can('terminalsManage') && stores.data.stores.length > 0 ? <NewTerminal stores={stores.data.stores} onDone={() => void terminals.reload()} /> : null}
    </>
  );
}

/** Opens a store, or edits one (name, address, and the QR's city and postal code). */
function StoreForm(props: { store: Store | null; onDone(): void }) {
  const { t } = useI18n();
  const initial = props.store === null ? { name: '', address: '', city: '', cityLocal: '', postalCode: '' }
    : { name: props.store.name, address: props.store.address, city: props.store.city, cityLocal: props.store.cityLocal ?? '', postalCode: props.store.postalCode };
  const [v, setV] = useState(initial);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const body = { ...v, cityLocal: v.cityLocal.trim() === '' ? null : v.cityLocal };
      await api('POST', props.store === null ? '/v1/merchant/stores' : `/v1/merchant/stores/${props.store.id}`, body);
      setV(initial);
      props.onDone();
    } catch (caught) { setError(caught); }
  };
  const field = (name: keyof typeof v, label: string, required = true) => <Field name={`store-${name}`} label={t(label)} required={required} value={v[name]} onChange={(e) => setV({ ...v, [name]: e.target.value })} />;
  return (
    <Card title={props.store === null ? t('stores.new') : `${t('stores.edit')}: ${props.store.name}`}>
      <form onSubmit={submit}>
        <div className="form-grid">
          {field('name', 'stores.name')}{field('postalCode', 'stores.postalCode')}{field('address', 'stores.address')}
          {field('cityLocal', 'stores.cityLocal', false)}{field('city', 'stores.city')}
        </div>
        <ErrorNotice error={error} />
        <Button type="submit">{props.store === null ? t('stores.create') : t('common.save')}</Button>
      </form>
    </Card>
  );
}

function NewTerminal(props: { stores: Store[]; onDone(): void }) {
  const { t } = useI18n();
  const [name, setName] = useState('');
  const [storeId, setStoreId] = useState(props.stores[0]?.id ?? '');
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await api('POST', '/v1/merchant/terminals', { storeId, name });
      setName('');
      props.onDone();
    } catch (caught) { setError(caught); }
  };
  return (
    <Card title={t('terminals.new')}>
      <form onSubmit={submit}>
        <div className="form-grid">
          <div className="field">
            <label htmlFor="terminal-store">{t('terminals.store')}</label>
            <select id="terminal-store" value={storeId} onChange={(e) => setStoreId(e.target.value)}>
              {props.stores.filter((s) => s.status !== 'closed').map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
            </select>
          </div>
          <Field name="terminal-name" label={t('terminals.name')} required value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <ErrorNotice error={error} />
        <Button type="submit">{t('terminals.create')}</Button>
      </form>
    </Card>
  );
}

function TerminalActions(props: { terminal: Terminal; onDone(): void }) {
  const { t } = useI18n();
  const [code, setCode] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const issue = async () => {
    setError(null);
    try { setCode((await api<{ code: string }>('POST', `/v1/merchant/terminals/${props.terminal.id}/activation-code`)).code); } catch (caught) { setError(caught); }
  };
  return (
    <div className="row actions">
      <Button variant="secondary" onClick={() => void issue()}>{t('terminals.code')}</Button>
      <ActionButton label={t('terminals.revoke')} title={t('terminals.revokeTitle')} description={t('terminals.revokeText')} variant="danger" needsReason={false}
        run={() => api('POST', `/v1/merchant/terminals/${props.terminal.id}/revoke`)} onDone={props.onDone} />
      {code === null ? null : <Notice kind="success">{t('terminals.codeIs')} <strong><code data-testid="activation-code">{code}</code></strong></Notice>}
      <ErrorNotice error={error} />
    </div>
  );
}
