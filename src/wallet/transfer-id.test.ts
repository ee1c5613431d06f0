import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from '../platform/ids.ts';
import { topUpTransferId } from './transfer-id.ts';

describe('topUpTransferId', () => {
  it('is a UUID, the same for the same top-up and different for another one', () => {
    const a = uuidv7();
    const b = uuidv7();
    expect(isUuid(topUpTransferId(a))).toBe(true);
    expect(topUpTransferId(a)).toBe(topUpTransferId(a));
    expect(topUpTransferId(a.toUpperCase())).toBe(topUpTransferId(a));
    expect(topUpTransferId(a)).not.toBe(topUpTransferId(b));
    expect(topUpTransferId(a)).not.toBe(a);
  });
});
