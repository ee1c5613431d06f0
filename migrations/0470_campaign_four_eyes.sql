-- Four eyes on large campaign budgets (src/wiring-promo.ts): a campaign may wait `proposed` for a second
-- operator, and end `rejected`. Only `active` campaigns earn (matchingCampaigns, the promo triggers).
alter table promo_campaigns drop constraint promo_campaigns_status_check;
alter table promo_campaigns add constraint promo_campaigns_status_check check (status in ('proposed', 'active', 'ended', 'rejected'));

alter table proposals drop constraint proposals_kind_check;
alter table proposals add constraint proposals_kind_check
  check (kind in ('compensation_batch', 'incident_reset_all', 'merchant_reversal', 'abolition', 'campaign_budget'));
