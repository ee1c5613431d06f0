-- Issue 19: starting the abolition procedure (資金決済法 Art. 20) takes four eyes: an administrator proposes, a
-- second approves (src/wiring-abolition.ts through operations' proposals).
alter table proposals drop constraint proposals_kind_check;
alter table proposals add constraint proposals_kind_check check (kind in ('compensation_batch', 'incident_reset_all', 'merchant_reversal', 'abolition'));
