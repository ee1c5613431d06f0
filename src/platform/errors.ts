/**
 * The one catalogue of errors a caller can see (Fastify style). Each code is stable: clients and
 * tests match on `code`, never on the human text. The HTTP layer renders every KobanError as an
 * RFC 9457 problem document whose `type` is `/problems/<code>` (documented at that path).
 */
export interface ProblemDefinition {
  readonly status: number;
  readonly title: string;
}

export const problems = {
  // Requests
  validation_failed: { status: 400, title: 'The request is not valid' },
  invalid_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_amount: { status: 400, title: 'The amount is not a positive integer number of minor units' },
  amount_too_large: { status: 400, title: 'The amount is above the configured maximum' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  body_too_large: { status: 413, title: 'The request body is too large' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'Not allowed' },
  rate_limited: { status: 429, title: 'Too many requests' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  // Issue 12: a dropped or stalled database answers in bounded time with this, and a Retry-After.
  database_unavailable: { status: 503, title: 'The database is unavailable or too slow right now; retry shortly' },
  // Issue 12: a copy of a request whose original is still running (same idempotency key); retry for its outcome.
  operation_in_progress: { status: 409, title: 'The same request is still being processed; retry shortly for its outcome' },
  internal_error: { status: 500, title: 'Internal error' },

  // Ledger
  ledger_not_found: { status: 404, title: 'No such ledger' },
  account_not_found: { status: 404, title: 'No such account' },
  account_exists_with_different_fields: { status: 409, title: 'An account with this id exists with different fields' },
  account_code_unknown: { status: 400, title: 'Unknown account code' },
  account_not_empty: { status: 409, title: 'The account still holds a balance or pending amounts' },
  account_closed: { status: 409, title: 'The account is closed' },
  transfer_not_found: { status: 404, title: 'No such transfer' },
  transfers_rejected: { status: 422, title: 'One or more transfers were not created' },
  batch_too_large: { status: 400, title: 'Too many transfers in one request' },

  // Identity (src/identity). Messages never say whether an account, phone or e-mail exists.
  invalid_phone: { status: 400, title: 'The phone number is not a Japanese number in E.164 form' },
  invalid_email: { status: 400, title: 'The e-mail address is not valid' },
  password_too_short: { status: 400, title: 'The password is too short (at least 8 characters)' },
  password_too_long: { status: 400, title: 'The password is too long (at most 64 characters)' },
  password_blocklisted: { status: 400, title: 'The password is too common or too close to your details; choose another' },
  verification_failed: { status: 400, title: 'The code is wrong, expired or used up' },
  resend_limit_reached: { status: 429, title: 'No more codes can be sent for this request' },
  invalid_credentials: { status: 401, title: 'The identifier or password is wrong' },
  credentials_reset_required: { status: 403, title: 'Your password and charge PIN must be reset: recover your account to sign in' },
  second_factor_failed: { status: 401, title: 'The password or the code was wrong' },
  login_challenge_invalid: { status: 400, title: 'The sign-in attempt has expired or does not belong to this device' },
  csrf_failed: { status: 403, title: 'The request did not prove it came from Koban' },
  session_proof_required: { status: 401, title: 'This request must be signed by the key of the device the session was started on' },
  session_proof_invalid: { status: 401, title: 'The device proof was not accepted' },
  step_up_required: { status: 403, title: 'A fresh second factor for exactly this action is required' },
  step_up_failed: { status: 401, title: 'The step-up was not accepted' },
  sms_budget_exceeded: { status: 429, title: 'Too many text messages were asked for; try again later or use another second factor' },
  factor_locked: { status: 423, title: 'This second factor is locked after too many wrong codes; recover your account to unlock it' },
  factor_slowed_down: { status: 429, title: 'Too many wrong codes for this second factor; wait before trying again' },
  step_up_method_not_allowed: { status: 403, title: 'This second factor is not accepted for this action; use a stronger one' },
  factor_not_enrolled: { status: 409, title: 'That second factor is not set up' },
  passkey_failed: { status: 401, title: 'The passkey was not accepted' },
  passkey_already_registered: { status: 409, title: 'This passkey is already registered' },
  totp_already_enrolled: { status: 409, title: 'An authenticator app is already set up' },
  pin_invalid: { status: 400, title: 'The charge PIN must be 6 digits, not trivial, and not your login password' },
  pin_required: { status: 403, title: 'The charge PIN is required' },
  pin_wrong: { status: 403, title: 'The charge PIN is wrong' },
  pin_locked: { status: 423, title: 'The charge PIN is locked; reset it with a fresh second factor' },
  pin_not_set: { status: 409, title: 'No charge PIN is set' },
  contact_change_cooldown: { status: 409, title: 'Your other contact was changed recently; this one can change after a cool-down' },
  current_password_wrong: { status: 403, title: 'The current password is wrong' },
  recovery_failed: { status: 400, title: 'The recovery codes are wrong, expired or used up' },
  recovery_cooldown: { status: 403, title: 'This action is paused after an account recovery' },
  session_not_found: { status: 404, title: 'No such session' },
  device_not_found: { status: 404, title: 'No such device' },
  passkey_not_found: { status: 404, title: 'No such passkey' },
  social_login_failed: { status: 400, title: 'Social sign-in failed' },
  social_provider_unknown: { status: 404, title: 'No such social sign-in provider' },
  social_provider_disabled: { status: 503, title: 'This social sign-in provider is switched off' },
  social_provider_error: { status: 502, title: 'The identity provider could not complete the sign-in' },
  social_already_linked: { status: 409, title: 'This external account is already linked' },
  last_sign_in_method: { status: 409, title: 'This is the last way to sign in; add another first' },

  // Payments and merchants (src/payments, src/merchants). The OPA-compatible API maps these to resultInfo codes.
  payment_code_not_found: { status: 404, title: 'No such payment code' },
  payment_code_expired: { status: 410, title: 'The payment code has expired; refresh it in the app' },
  payment_code_used: { status: 409, title: 'The payment code has already been used' },
  payment_refused_by_risk: { status: 403, title: 'This payment was refused' },
  insufficient_funds: { status: 422, title: 'The wallet balance is too low' },
  payment_failed: { status: 422, title: 'The payment could not be completed' },
  refund_failed: { status: 422, title: 'The refund could not be completed' },
  wallet_frozen: { status: 403, title: 'The wallet is frozen: paying is stopped until Koban support has checked the account' },
  wallet_not_found: { status: 404, title: 'No wallet for this customer' },
  merchant_not_found: { status: 404, title: 'No such merchant' },
  merchant_not_active: { status: 403, title: 'The merchant cannot take payments' },
  // A test wallet pays only a merchant's test twin; a real wallet never pays one (src/payments/standing-step.ts).
  payment_mode_mismatch: { status: 403, title: 'Test money and real money do not mix: a test wallet pays only in test mode, a real wallet only in live mode' },
  // Issue 16: onboarding, merchant states and the merchant staff realm (src/merchants).
  merchant_review_closed: { status: 409, title: 'The application is not waiting for a review' },
  merchant_review_self_approval: { status: 403, title: 'The second approval must come from another operator' },
  merchant_state_conflict: { status: 409, title: 'The merchant or store cannot move to this state from its current one' },
  merchant_sign_in_failed: { status: 401, title: 'The e-mail, password or authenticator code was not accepted' },
  merchant_permission_denied: { status: 403, title: 'Your role at this merchant does not allow this action' },
  merchant_user_exists: { status: 409, title: 'A merchant user with this e-mail exists' },
  merchant_resubmission_not_requested: { status: 409, title: 'The application is not waiting for more information from the applicant' },
  store_not_found: { status: 404, title: 'No such store for this merchant' },
  terminal_not_found: { status: 404, title: 'No such terminal in this store' },
  unsupported_currency: { status: 400, title: 'The currency is not supported (JPY only)' },
  external_id_in_use: { status: 409, title: 'Another store or terminal of this merchant already has this id' },
  terminal_locked: { status: 423, title: 'This till is locked after too many unknown, expired or used codes; an operator must unlock it' },
  terminal_not_locked: { status: 409, title: 'This till is not locked' },
  terminal_slowed_down: { status: 429, title: 'Too many unknown, expired or used codes from this till; wait before trying again' },
  merchant_payment_id_conflict: { status: 409, title: 'This merchantPaymentId was used with different details' },
  payment_not_found: { status: 404, title: 'No such payment' },
  payment_in_progress: { status: 409, title: 'The payment is still being processed; send the same request again in a moment' },
  refund_in_progress: { status: 409, title: 'The refund is still being processed; send the same request again in a moment' },
  payment_not_reversible: { status: 409, title: 'The payment can no longer be cancelled' },
  payment_not_refundable: { status: 409, title: 'The payment cannot be refunded' },
  refund_exceeds_payment: { status: 422, title: 'Refunds would exceed the amount paid' },
  refund_not_found: { status: 404, title: 'No such refund' },
  merchant_refund_id_conflict: { status: 409, title: 'This merchantRefundId was used with different details' },
  dynamic_qr_not_found: { status: 404, title: 'No such QR code' },
  dynamic_qr_expired: { status: 410, title: 'The QR code has expired' },
  dynamic_qr_unavailable: { status: 409, title: 'The QR code was deleted or already paid' },
  authorization_expiry_invalid: { status: 400, title: 'The authorisation expiry must be in the future and within 7 days' },
  authorization_expired: { status: 409, title: 'The authorisation expired and its hold was released; nothing can be captured' },
  payment_not_capturable: { status: 409, title: 'The payment is not an open authorisation (not one, reverted or expired)' },
  payment_already_captured: { status: 409, title: 'The authorisation was already captured' },
  payment_not_revertible: { status: 409, title: 'The authorisation was already captured or expired and cannot be reverted' },
  merchant_action_id_conflict: { status: 409, title: 'This merchantCaptureId or merchantRevertId was used with different details' },
  qr_payload_invalid: { status: 400, title: 'The QR code is not a valid Koban merchant QR' },
  strong_confirmation_required: { status: 403, title: 'Confirm this payment with your PIN or a passkey' },
  customer_declined: { status: 402, title: 'The customer declined this payment in the wallet app' },
  customer_confirmation_expired: { status: 402, title: 'The customer did not confirm this payment in time' },
  pin_reset_needs_strong_factor: { status: 403, title: 'A locked PIN is reset with a passkey or authenticator app, or after an account recovery (an SMS code alone is not enough)' },
  credential_change_needs_old_factor: { status: 403, title: 'For a day after a phone change, this change needs a passkey or authenticator app you had before it (or wait)' },
  confirmation_not_found: { status: 404, title: 'No payment waits for your confirmation under this id' },
  payment_passkey_required: { status: 403, title: 'You pay with a passkey: confirm this payment with it (step-up pay, or confirm_payment for a waiting payment)' },
  payment_passkey_unavailable: { status: 409, title: 'Add a passkey first: payments are confirmed with one' },
  email_code_required: { status: 403, title: 'Without a passkey, this payment is confirmed with your PIN and the code we e-mail you: ask for the code, then send both' },
  email_code_wrong: { status: 403, title: 'The e-mailed code is wrong, expired or used up; ask for a new one' },
  email_code_not_needed: { status: 409, title: 'This payment is confirmed with your PIN alone; no e-mailed code is needed' },
  email_confirmation_unavailable: { status: 409, title: 'No e-mail address on your account has been there for a day, so only a passkey can confirm this payment' },
  confirmation_needs_established_device: { status: 403, title: 'Confirm this payment with your PIN on a phone you have used with Koban for more than a day, or with a passkey' },
  webhook_endpoint_invalid: { status: 400, title: 'The webhook URL is not acceptable' },
  webhook_delivery_not_found: { status: 404, title: 'No such webhook delivery' },
  settlement_not_ready: { status: 409, title: 'The business day is not over yet' },
  terminal_activation_failed: { status: 401, title: 'The activation code is wrong, expired or already used' },
  till_day_closed: { status: 409, title: 'This till has closed its business day' },
  till_busy: { status: 409, title: 'This till is in the middle of something; close again in a moment' },

  // Wallet: funding sources and top-ups (src/wallet)
  funding_unavailable: { status: 503, title: 'This kind of funding source is not available' },
  funding_provider_unavailable: { status: 503, title: 'The card acquirer or bank did not answer; try again' },
  funding_source_not_found: { status: 404, title: 'No such funding source' },
  funding_source_not_active: { status: 409, title: 'The funding source is not active' },
  funding_source_exists: { status: 409, title: 'This card or bank account is already registered' },
  funding_source_limit_reached: { status: 409, title: 'The account already has the maximum number of funding sources of this kind' },
  card_rejected: { status: 422, title: 'The card was not accepted' },
  card_attempts_exceeded: { status: 429, title: 'Too many failed card checks; try again later' },
  bank_account_rejected: { status: 422, title: 'The bank account was not accepted' },
  bank_code_incorrect: { status: 422, title: "The bank's one-time code is wrong" },
  idempotency_key_required: { status: 400, title: 'An Idempotency-Key header is required' },
  idempotency_key_reused: { status: 422, title: 'This Idempotency-Key was used for a different request' },
  top_up_not_found: { status: 404, title: 'No such top-up' },
  top_up_limit_exceeded: { status: 422, title: 'The top-up is above a limit' },
  // Sending, requesting and withdrawing money (issue 19, src/wallet/transfers).
  funds_transfer_not_verified: { status: 403, title: 'Sending and withdrawing money need a verified identity (a funds-transfer balance)' },
  recipient_not_found: { status: 404, title: 'No Koban customer with this phone number or Koban ID' },
  recipient_is_sender: { status: 422, title: 'You cannot send money to yourself' },
  send_limit_exceeded: { status: 422, title: 'The send is above a limit' },
  payment_limit_exceeded: { status: 422, title: "The payment is above this account's payment limit" },
  withdrawal_limit_exceeded: { status: 422, title: 'The withdrawal is above a limit' },
  transfer_not_pending: { status: 409, title: 'The transfer was already accepted, declined or returned' },
  recipient_not_verified: { status: 403, title: 'Verify your identity to receive money sent to you' },
  money_request_not_found: { status: 404, title: 'No such money request' },
  money_request_not_open: { status: 409, title: 'The money request was already paid or cancelled' },
  bill_split_not_found: { status: 404, title: 'No such bill split' },
  withdrawal_not_found: { status: 404, title: 'No such withdrawal' },
  withdrawal_unavailable: { status: 503, title: 'Withdrawals are not available right now' },
  bank_account_required: { status: 422, title: 'Withdrawals go to a confirmed bank account of your own' },
  // Issue 19: cash top-up at the register.
  top_up_code_not_found: { status: 404, title: 'No such top-up code' },
  top_up_code_expired: { status: 410, title: 'The top-up code has expired; show a new one in the app' },
  top_up_code_used: { status: 409, title: 'The top-up code has already been used' },
  not_a_top_up_code: { status: 422, title: 'This is a payment code, not a top-up code: use 現金チャージ only with the wallet\'s 現金でチャージ screen' },
  cash_top_up_not_found: { status: 404, title: 'No such cash top-up at this till' },
  cash_top_up_id_conflict: { status: 409, title: 'This till top-up id was already used for another code or amount' },
  cash_top_up_limit_exceeded: { status: 422, title: 'The cash top-up is above a cash limit (per code, per customer per day, or per store per day)' },
  second_clerk_required: { status: 403, title: 'The customer is a member of this merchant\'s staff: a second clerk must approve this top-up' },
  second_clerk_refused: { status: 403, title: 'The second clerk\'s approval was not accepted' },
  cash_top_up_not_voidable: { status: 409, title: 'This cash top-up can no longer be voided' },
  cash_top_up_spent: { status: 409, title: 'The customer has already spent part of this top-up; it cannot be voided' },
  auto_top_up_source_not_eligible: { status: 422, title: 'Auto top-up needs an active bank account or a card that passed 3-D Secure' },
  webhook_signature_invalid: { status: 401, title: 'The webhook signature is missing or wrong' },
  webhook_timestamp_stale: { status: 400, title: 'The webhook timestamp is outside the tolerance' },
  webhook_invalid: { status: 400, title: 'The webhook body is not an event Koban understands' },
  webhook_amount_mismatch: { status: 422, title: 'The webhook amount does not match the top-up' },

  // Risk and operations (src/risk, src/operations)
  service_switched_off: { status: 503, title: 'This service is switched off for now' },
  switch_unknown: { status: 404, title: 'No such switch' },
  risk_denied: { status: 403, title: 'Refused by risk controls' },
  risk_step_up_required: { status: 403, title: 'Risk controls require a fresh second factor for this action' },
  risk_held_for_review: { status: 403, title: 'Held for review by risk controls' },
  risk_rule_unknown: { status: 404, title: 'No such risk rule' },
  risk_rule_invalid: { status: 400, title: 'The risk rule settings are not valid' },
  operator_sign_in_failed: { status: 401, title: 'The e-mail, password or authenticator code was not accepted' },
  operator_permission_denied: { status: 403, title: 'Your operator role does not allow this action' },
  operator_exists: { status: 409, title: 'An operator with this e-mail exists' },
  operator_not_found: { status: 404, title: 'No such operator' },
  operator_passkey_required: { status: 403, title: 'Operators sign in with their passkey; a password and an authenticator code alone are refused (break-glass needs a second operator)' },
  operator_passkey_enrolment_required: { status: 403, title: 'Register your passkey first: this session can only enrol one' },
  operator_passkey_enrolment_closed: { status: 403, title: 'The window to enrol a first passkey has closed; ask for break-glass access' },
  break_glass_not_found: { status: 404, title: 'No such break-glass request, or it has expired' },
  break_glass_not_approved: { status: 409, title: 'The break-glass request is not approved by a second operator yet' },
  break_glass_self_approval: { status: 403, title: 'An operator cannot approve their own break-glass request' },
  case_not_found: { status: 404, title: 'No such case' },
  case_closed: { status: 409, title: 'The case is closed' },
  case_subject_mismatch: { status: 409, title: 'This action does not apply to what the case is about (a customer or a merchant)' },
  customer_wallet_not_found: { status: 404, title: 'The customer has no wallet' },
  proposal_not_found: { status: 404, title: 'No such proposal' },
  proposal_not_pending: { status: 409, title: 'The proposal was already decided' },
  proposal_self_approval: { status: 403, title: 'The proposer cannot approve their own proposal' },
  compensation_batch_not_found: { status: 404, title: 'No such compensation batch' },
  compensation_batch_state: { status: 409, title: 'The compensation batch is not in a state that allows this' },
  transfer_not_in_account: { status: 422, title: 'A transfer is not a transaction of this account' },
  operations_dependency_missing: { status: 503, title: 'This action needs a module that is not connected yet' },
  // Identity verification (eKYC, issue 19).
  identity_verification_unavailable: { status: 503, title: 'Identity verification is not available right now' },
  identity_already_verified: { status: 409, title: 'Your identity is already verified' },
  identity_verification_in_progress: { status: 409, title: 'An identity verification is already in progress' },
  kyc_application_not_found: { status: 404, title: 'No such identity verification' },
  campaign_not_found: { status: 404, title: 'No such campaign' },
  abolition_not_active: { status: 409, title: 'No abolition procedure is under way' },
  abolition_claim_period_over: { status: 409, title: 'The claim period of the abolition procedure is over' },
  abolition_nothing_to_claim: { status: 409, title: 'There is no prepaid balance to claim' },
  abolition_claim_open: { status: 409, title: 'A claim of your balance is already being paid' },
  kyc_application_not_in_review: { status: 409, title: 'The identity verification is not waiting for review' },
} as const satisfies Record<string, ProblemDefinition>;

export type ProblemCode = keyof typeof problems;

export interface FieldError {
  /** JSON pointer into the request, e.g. `/body/transfers/0/amount`. */
  readonly pointer: string;
  readonly message: string;
}

export interface KobanErrorOptions {
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
  /** Extra members of the problem document (RFC 9457 §3.2 extension members). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class KobanError extends Error {
  override readonly name = 'KobanError';
  readonly code: ProblemCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: readonly FieldError[] | undefined;
  readonly extensions: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ProblemCode, options: KobanErrorOptions = {}) {
    const definition = problems[code];
    super(options.detail ?? definition.title, { cause: options.cause });
    this.code = code;
    this.status = definition.status;
    this.title = definition.title;
    this.detail = options.detail;
    this.errors = options.errors;
    this.extensions = options.extensions;
  }
}

export function isKobanError(error: unknown): error is KobanError {
  return error instanceof KobanError;
}
