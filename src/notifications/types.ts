/** A message on its way out, and the small interface every delivery adapter implements. */
export type Channel = 'email' | 'sms';

export interface OutboundMessage {
  readonly id: string;
  readonly channel: Channel;
  readonly recipient: string;
  /** What the message is about (`signup_code`, `security_alert`...): for logs and the dev outbox. */
  readonly kind: string;
  readonly subject: string;
  readonly body: string;
}

export interface Transport {
  /** Resolves once the provider accepted the message; throws to have the dispatcher retry. */
  deliver(message: OutboundMessage): Promise<void>;
  close?(): Promise<void>;
}

export const MESSAGE_LIMITS = {
  subjectLengthMax: 200,
  bodyLengthMax: 4000,
  recipientLengthMax: 320,
} as const;
