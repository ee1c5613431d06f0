/**
 * Which module owns which table: the only module whose source may insert into, update, delete from or
 * merge into it. Every other module reads it at most, and changes it by calling the owner.
 *
 * Declared here rather than derived from the migration ranges because the ranges and the owners
 * differ (0002 and 0030 create merchants' tables, 0010 the platform's security log, 0031 the wallet
 * mapping). `modules.test.ts` checks that every table a migration creates has exactly one owner here,
 * so a new table cannot slip in unowned: add it to its module's list in the same commit.
 */
export const TABLE_OWNERS = {
  platform: ['schema_migrations', 'security_events', 'platform_leases'],
  ledger: ['ledgers', 'account_codes', 'accounts', 'transfers', 'pending_transfers', 'transfer_failures'],
  identity: [
    'customers', 'customer_contacts', 'password_credentials', 'signups', 'one_time_codes', 'devices', 'sessions', 'device_proof_jtis',
    'login_challenges', 'throttle_counters', 'passkeys', 'webauthn_challenges', 'totp_factors', 'recovery_codes',
    'step_up_requests', 'step_up_grants', 'charge_pins', 'recovery_requests', 'social_identities', 'social_transactions',
    'contact_changes', 'factor_failures', 'signup_setup_windows', 'customer_phone_fragments', 'login_decoy_factor_failures',
  ],
  notifications: ['outbox_messages', 'dev_outbox', 'customer_notifications'],
  wallet: ['customer_wallets', 'funding_sources', 'card_fingerprint_sightings', 'funding_failures', 'top_ups', 'provider_webhook_events', 'top_up_claims',
    'customer_verifications', 'wallet_spend_orders', 'kyc_applications', 'wallet_handles', 'p2p_transfers', 'bill_splits', 'money_requests', 'withdrawals',
    'cash_top_up_codes', 'cash_top_ups', 'auto_top_up_settings', 'auto_top_up_runs',
    'promo_campaigns', 'promo_queue', 'promo_grants', 'promo_reversals', 'promo_expiries', 'abolition_procedures', 'abolition_claims', 'abolition_notices',
    'test_wallets'],
  merchants: [
    'merchants', 'stores', 'terminals', 'merchant_api_credentials', 'merchant_webhook_endpoints', 'opa_nonces', 'opa_rate_buckets',
    'merchant_payout_accounts', 'merchant_external_ids', 'merchant_users', 'merchant_user_sessions',
    'merchant_user_passkeys', 'merchant_webauthn_challenges', 'merchant_application_versions',
  ],
  payments: [
    'payment_codes', 'payments', 'dynamic_qr_codes', 'refunds', 'payment_customer_notices', 'webhook_events', 'webhook_deliveries', 'webhook_attempts',
    'settlements', 'terminal_activation_codes', 'terminal_sessions', 'terminal_reversals', 'terminal_day_closes',
    'terminal_actions_in_flight', 'payment_order_details', 'payment_cancel_requests', 'payment_confirmations', 'terminal_code_failures', 'payment_debit_plans',
    'payment_authorization_actions', 'refund_credit_plans',
  ],
  risk: ['risk_counters', 'risk_links', 'risk_rule_settings', 'risk_ruleset', 'risk_lists', 'risk_events'],
  operations: [
    'audit_events', 'audit_unsealed', 'security_events_unsealed', 'audit_blocks', 'operation_switches', 'operators',
    'operator_sessions', 'cases', 'case_alerts', 'case_notes', 'proposals', 'fraud_flags', 'compensation_batches',
    'compensation_items', 'compensated_transfers', 'operator_passkeys', 'operator_webauthn_challenges', 'operator_break_glass',
  ],
} as const satisfies Record<string, readonly string[]>;

/** Tables created by code rather than by a migration (the migrations runner's own bookkeeping). */
export const TABLES_OUTSIDE_MIGRATIONS = ['schema_migrations'] as const;
