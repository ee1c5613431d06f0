/**
 * Koban's identity cookies: all `__Host-` (Secure, Path=/, no Domain: the browser refuses them
 * otherwise), HttpOnly, SameSite=Lax (SES-03).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
// Brings in the request.cookies / reply.setCookie types; the plugin is registered by routes.ts.
import type {} from '@fastify/cookie';

export const SESSION_COOKIE = '__Host-koban_session';
export const DEVICE_COOKIE = '__Host-koban_device';
export const SOCIAL_COOKIE = '__Host-koban_social';

/** Browsers cap cookie lifetime at 400 days anyway. */
const DEVICE_COOKIE_MAX_AGE_S = 400 * 24 * 60 * 60;
const SOCIAL_COOKIE_MAX_AGE_S = 10 * 60;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const BASE = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' } as const;

export function readToken(request: FastifyRequest, name: string): string | null {
  const value = request.cookies[name];
  return typeof value === 'string' && TOKEN.test(value) ? value : null;
}

export function setSessionCookie(reply: FastifyReply, token: string, maxAgeMs: number): void {
  reply.setCookie(SESSION_COOKIE, token, { ...BASE, maxAge: Math.floor(maxAgeMs / 1000) });
}

export function clearCookie(reply: FastifyReply, name: string): void {
  reply.clearCookie(name, BASE);
}

export function setDeviceCookie(reply: FastifyReply, token: string): void {
  reply.setCookie(DEVICE_COOKIE, token, { ...BASE, maxAge: DEVICE_COOKIE_MAX_AGE_S });
}

export function setSocialCookie(reply: FastifyReply, token: string): void {
  reply.setCookie(SOCIAL_COOKIE, token, { ...BASE, maxAge: SOCIAL_COOKIE_MAX_AGE_S });
}
