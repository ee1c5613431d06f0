/** API keys (create, revoke; a secret shown once) and webhook endpoints (add, disable/enable, rotate, test event, delivery log). */
import { useId, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { ActionButton, ErrorNotice, Loading, Pill, Table, useLoad, When } from '../../console/common.tsx';
import { TestWalletsCard } from './test-wallets.tsx';

interface Key { credentialId: string; apiKey: string; status: string; mode: 'live' | 'test'; name: string | null; createdAt: string }
interface Endpoint { endpointId: string; url: string; disabled: boolean; format: 'koban' | 'paypay' }
interface Delivery { deliveryId: string; eventType: string; status: string; attempts: number; createdAt: string }

export function DevelopersScreen() {
  const { t } = useI18n();
  const keys = useLoad<{ keys: Key[] }>('/v1/merchant/api-keys');
  const endpoints = useLoad<{ endpoints: Endpoint[] }>('/v1/merchant/webhook-endpoints');
  const deliveries = useLoad<{ deliveries: Delivery[] }>('/v1/merchant/webhook-deliveries?limit=20');
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [url, setUrl] = useState('');
  const [keyMode, setKeyMode] = useState<'live' | 'test'>('live');
  const [keyName, setKeyName] = useState('');
  const [editing, setEditing] = useState<Endpoint | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (work: () => Promise<void>) => {
    setError(null);
    try { await work(); } catch (caught) { setError(caught); }
  };
  const createKey = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const issued = await api<{ apiKey: string; apiSecret: string }>('POST', '/v1/merchant/api-keys', { mode: keyMode, ...(keyName.trim() === '' ? {} : { name: keyName.trim() }) });
      setSecret({ label: `${issued.apiKey} — ${t('dev.secret')}`, value: issued.apiSecret });
      setKeyName('');
      await keys.reload();
    });
  };
  const addEndpoint = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      const created = await api<{ signingSecret?: string }>('POST', '/v1/merchant/webhook-endpoints', { url });
      if (created.signingSecret) setSecret({ label: t('dev.signingSecret'), value: created.signingSecret });
      setUrl('');
      await endpoints.reload();
    });
  };
  return (
    <>
      {secret === null ? null : <Notice kind="success">{secret.label}: <span className="secret">{secret.value}</span> — {t('common.shownOnce')}</Notice>}
      <ErrorNotice error={error} />
      <Card title={t('dev.keys')}>
        {keys.data === null ? <Loading loaded={keys} /> : (
          <Table caption={t('dev.keys')} head={[t('col.key'), t('dev.keyName'), t('dev.mode'), t('col.status'), t('col.when'), '']} empty={keys.data.keys.length === 0}>
            {keys.data.keys.map((k) => (
              <tr key={k.credentialId}><td><code>{k.apiKey}</code></td><td>{k.name ?? ''}</td>
                <td><Pill tone={k.mode === 'test' ? 'warn' : 'ok'}>{k.mode === 'test' ? t('dev.modeTest') : t('dev.modeLive')}</Pill></td>
                <td><Pill tone={k.status === 'active' ? 'ok' : 'muted'}>{k.status}</Pill></td><td><When at={k.createdAt} /></td>
                <td>{k.status === 'active' ? <ActionButton label={t('dev.revoke')} title={t('dev.revokeTitle')} variant="danger" needsReason={false}
                  run={() => api('POST', `/v1/merchant/api-keys/${k.credentialId}/revoke`)} onDone={() => void keys.reload()} /> : null}</td></tr>
            ))}
          </Table>
        )}
        <form onSubmit={createKey} className="form-grid">
          <Field name="key-name" label={t('dev.keyName')} maxLength={64} value={keyName} onChange={(e) => setKeyName(e.target.value)} />
          <div className="field">
            <label htmlFor="key-mode">{t('dev.mode')}</label>
            <select id="key-mode" value={keyMode} onChange={(e) => setKeyMode(e.target.value === 'test' ? 'test' : 'live')}>
              <option value="live">{t('dev.modeLive')}</option>
              <option value="test">{t('dev.modeTest')}</option>
            </select>
          </div>
          <div><Button type="submit">{t('dev.newKey')}</Button></div>
        </form>
        <p className="hint">{t('dev.modeHint')}</p>
      </Card>
      <TestWalletsCard />
      <Card title={t('dev.webhooks')}>
        {endpoints.data === null ? <Loading loaded={endpoints} /> : (
          <Table caption={t('dev.webhooks')} head={[t('col.url'), t('dev.format'), t('col.status'), '']} empty={endpoints.data.endpoints.length === 0}>
            {endpoints.data.endpoints.map((e) => (
              <tr key={e.endpointId}><td><code className="id wrap">{e.url}</code></td><td>{t(`dev.format.${e.format}`)}</td>
                <td><Pill tone={e.disabled ? 'muted' : 'ok'}>{e.disabled ? t('dev.disabled') : t('dev.active')}</Pill></td>
                <td className="row actions">
                  <Button variant="ghost" onClick={() => setEditing(e)}>{t('dev.edit')}</Button>
                  <Button variant="secondary" onClick={() => void run(async () => { await api('POST', `/v1/merchant/webhook-endpoints/${e.endpointId}`, { disabled: !e.disabled }); await endpoints.reload(); })}>{e.disabled ? t('dev.enable') : t('dev.disable')}</Button>
                  <Button variant="secondary" onClick={() => void run(async () => {
                    const rotated = await api<{ signingSecret: string }>('POST', `/v1/merchant/webhook-endpoints/${e.endpointId}/rotate-secret`);
                    setSecret({ label: t('dev.signingSecret'), value: rotated.signingSecret });
                  })}>{t('dev.rotate')}</Button>
                </td></tr>
            ))}
          </Table>
        )}
        {editing === null ? null : (
          <EndpointEditor key={editing.endpointId} endpoint={editing} onDone={() => { setEditing(null); void endpoints.reload(); }} onCancel={() => setEditing(null)} />
        )}
        <form onSubmit={addEndpoint} className="form-grid">
          <Field label={t('dev.newEndpoint')} type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://" />
          <div><Button type="submit">{t('dev.newEndpoint')}</Button> <Button variant="secondary" onClick={() => void run(async () => { await api('POST', '/v1/merchant/webhook-test'); await deliveries.reload(); })}>{t('dev.test')}</Button></div>
        </form>
      </Card>
      <Card title={t('dev.deliveries')}>
        {deliveries.data === null ? <Loading loaded={deliveries} /> : (
          <Table caption={t('dev.deliveries')} head={[t('col.when'), t('col.event'), t('col.status'), '']} empty={deliveries.data.deliveries.length === 0}>
            {deliveries.data.deliveries.map((d) => (
              <tr key={d.deliveryId}><td><When at={d.createdAt} /></td><td>{d.eventType}</td><td>{d.status} ({d.attempts})</td>
                <td><Button variant="ghost" onClick={() => void run(async () => { await api('POST', `/v1/merchant/webhook-deliveries/${d.deliveryId}/redeliver`); await deliveries.reload(); })}>{t('dev.redeliver')}</Button></td></tr>
            ))}
          </Table>
        )}
      </Card>
    </>
  );
}

/** Edits one endpoint's URL and payload format (Koban's or PayPay's shapes); the signing secret stays. */
function EndpointEditor(props: { endpoint: Endpoint; onDone(): void; onCancel(): void }) {
  const { t } = useI18n();
  const [url, setUrl] = useState(props.endpoint.url);
  const [format, setFormat] = useState(props.endpoint.format);
  const [error, setError] = useState<unknown>(null);
  const formatId = useId();
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      await api('POST', `/v1/merchant/webhook-endpoints/${props.endpoint.endpointId}`, { url: url.trim(), format });
      props.onDone();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <form onSubmit={save} className="endpoint-editor" aria-label={t('dev.editTitle')}>
      <h3>{t('dev.editTitle')}</h3>
      <div className="form-grid">
        <Field label={t('dev.endpointUrl')} type="url" required value={url} onChange={(e) => setUrl(e.target.value)} />
        <div className="field">
          <label htmlFor={formatId}>{t('dev.format')}</label>
          <select id={formatId} value={format} onChange={(e) => setFormat(e.target.value as Endpoint['format'])}>
            <option value="koban">{t('dev.format.koban')}</option>
            <option value="paypay">{t('dev.format.paypay')}</option>
          </select>
        </div>
      </div>
      <ErrorNotice error={error} />
      <div className="row actions"><Button type="submit">{t('common.save')}</Button> <Button variant="ghost" onClick={props.onCancel}>{t('common.cancel')}</Button></div>
    </form>
  );
}
