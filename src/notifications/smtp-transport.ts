/** E-mail through any SMTP server, via nodemailer (pooled connections, bounded timeouts). */
import nodemailer from 'nodemailer';
import type { Transport } from './types.ts';

export const SMTP_LIMITS = { connectionTimeoutMs: 10_000, socketTimeoutMs: 20_000, maxConnections: 5 } as const;

export function createSmtpTransport(smtpUrl: string, from: string): Transport {
  const url = new URL(smtpUrl);
  const transporter = nodemailer.createTransport({
    host: url.hostname,
    port: url.port === '' ? (url.protocol === 'smtps:' ? 465 : 587) : Number(url.port),
    secure: url.protocol === 'smtps:',
    auth: url.username === '' ? undefined : { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) },
    pool: true,
    maxConnections: SMTP_LIMITS.maxConnections,
    connectionTimeout: SMTP_LIMITS.connectionTimeoutMs,
    socketTimeout: SMTP_LIMITS.socketTimeoutMs,
  });
  return {
    async deliver(message) {
      await transporter.sendMail({ from, to: message.recipient, subject: message.subject, text: message.body });
    },
    async close() {
      transporter.close();
    },
  };
}
