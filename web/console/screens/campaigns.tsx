/**
 * Points and cashback campaigns (issue 19): each campaign with what it matches, its rate, cap and budget, what is
 * left of the budget and what it granted. Ending one asks for a reason; the server audits it. Campaigns are
 * defined through `POST /v1/ops/campaigns` (src/wiring-promo.ts).
 */
import { useI18n } from '../../shared/i18n.tsx';
import { ActionButton, Loading, Table, useLoad, When } from '../common.tsx';
import { ops } from '../session.tsx';

interface CampaignItem {
  campaignId: string; name: string; merchantId: string | null; categoryCode: string | null; rateBps: number; capPerCustomer: string;
  budget: string; remaining?: string; granted?: string; startsAt: string; endsAt: string; status: string;
}

export function CampaignsScreen() {
  const { t } = useI18n();
  const loaded = useLoad<{ items: CampaignItem[] }>('/v1/ops/campaigns', 15_000);
  const end = (id: string) => (reason: string) => ops('POST', `/v1/ops/campaigns/${encodeURIComponent(id)}/end`, { reason });
  return (
    <>
      <h2 className="screen-title">{t('nav.campaigns')}</h2>
      <p className="hint">{t('campaigns.note')}</p>
      {loaded.data === null ? <Loading loaded={loaded} /> : (
        <Table caption={t('nav.campaigns')} empty={loaded.data.items.length === 0}
          head={[t('campaigns.name'), t('campaigns.matches'), t('campaigns.rate'), t('campaigns.budget'), t('campaigns.period'), t('campaigns.status')]}>
          {loaded.data.items.map((item) => (
            <tr key={item.campaignId} data-campaign={item.campaignId}>
              <td>{item.name}</td>
              <td><code>{item.merchantId ?? item.categoryCode}</code></td>
              <td>{(item.rateBps / 100).toFixed(2)}% · ≤ ¥{item.capPerCustomer}</td>
              <td>¥{item.remaining ?? '—'} / ¥{item.budget}<br /><span className="hint">{t('campaigns.granted')} ¥{item.granted ?? '0'}</span></td>
              <td><When at={item.startsAt} /> – <When at={item.endsAt} /></td>
              <td>
                {item.status}
                {item.status === 'active' ? (
                  <ActionButton variant="danger" label={t('campaigns.end')} title={t('campaigns.confirmEnd', { name: item.name })} needsReason
                    run={end(item.campaignId)} onDone={() => void loaded.reload()} />
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}
