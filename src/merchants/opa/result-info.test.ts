import { describe, expect, it } from 'vitest';
import { OPA_RESULT_CODES, opaReply, opaUnauthorized } from './result-info.ts';

describe('opaReply', () => {
  it('wraps data in the resultInfo envelope the SDKs read', () => {
    expect(opaReply('SUCCESS', { data: { qrStatus: 'DELETED' } })).toEqual({
      statusCode: 200,
      body: { resultInfo: { code: 'SUCCESS', message: 'Success', codeId: '08100001' }, data: { qrStatus: 'DELETED' } },
    });
  });

  it('answers errors with data null and the catalogue status', () => {
    const reply = opaReply('DYNAMIC_QR_PAYMENT_NOT_FOUND');
    expect(reply.statusCode).toBe(400);
    expect(reply.body.data).toBeNull();
    expect(opaReply('RATE_LIMIT').statusCode).toBe(429);
    expect(opaReply('MAINTENANCE_MODE').statusCode).toBe(503);
  });

  it('allows 201 for a created resource but not a change of status class', () => {
    expect(opaReply('SUCCESS', { httpStatus: 201 }).statusCode).toBe(201);
    expect(() => opaReply('SUCCESS', { httpStatus: 400 })).toThrow();
  });

  it('gives every authentication failure the same answer (no key or clock probing)', () => {
    expect(opaUnauthorized()).toEqual(opaReply('UNAUTHORIZED'));
    expect(opaUnauthorized().statusCode).toBe(401);
  });

  it('has a distinct codeId for every code', () => {
    const ids = Object.values(OPA_RESULT_CODES).map((spec) => spec.codeId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
