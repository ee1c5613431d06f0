/**
 * EMVCo merchant-presented QR (MPM), the format JPQR builds on: a string of TLV fields (two-digit id,
 * two-digit length, value) ending in a CRC16/CCITT-FALSE over everything before the CRC value.
 * Koban's static store QR names the merchant and the store in a merchant account template (ids 26–51)
 * whose globally unique identifier (sub-field 00) is Koban's.
 *
 * Parsing is strict and bounded: printable ASCII only, every length checked, no duplicate ids, the CRC
 * last and correct, the fields Koban needs present and well-formed. A bad code changes nothing.
 */
import { KobanError } from '../platform/errors.ts';
import { UUID_PATTERN } from '../platform/ids.ts';

export const KOBAN_QR_GUID = 'jp.koban';
const PAYLOAD_LENGTH_MAX = 512;
const FIELDS_MAX = 64;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const UUID = new RegExp(UUID_PATTERN);

/** CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR. */
export function crc16CcittFalse(text: string): number {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'latin1')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function tlv(id: string, value: string): string {
  if (value.length > 99 || !PRINTABLE_ASCII.test(value)) throw new Error(`EMVCo field ${id} too long or not printable ASCII`);
  return `${id}${String(value.length).padStart(2, '0')}${value}`;
}

/** EMVCo names are "ANS": printable ASCII. A Japanese name is replaced rather than mangled. */
function asciiName(name: string, max: number, fallback: string): string {
  const printable = PRINTABLE_ASCII.test(name) && name.trim() !== '' ? name.trim() : fallback;
  return printable.slice(0, max);
}

export interface StaticQrFields {
  readonly merchantId: string;
  readonly storeId: string;
  readonly categoryCode: string;
  readonly merchantName: string;
}

export function buildStaticQrPayload(fields: StaticQrFields): string {
  const account = tlv('00', KOBAN_QR_GUID) + tlv('01', fields.merchantId) + tlv('02', fields.storeId);
  const body = tlv('00', '01') + tlv('01', '11') + tlv('26', account) + tlv('52', fields.categoryCode) + tlv('53', '392')
    + tlv('58', 'JP') + tlv('59', asciiName(fields.merchantName, 25, 'KOBAN MERCHANT')) + tlv('60', 'JAPAN') + '6304';
  return body + crc16CcittFalse(body).toString(16).toUpperCase().padStart(4, '0');
}

function invalid(detail: string): KobanError {
  return new KobanError('qr_payload_invalid', { detail, errors: [{ pointer: '/body/payload', message: detail }] });
}

/** Splits TLV fields; throws on any malformed length, duplicate id or overrun. */
export function parseTlv(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  let at = 0;
  while (at < text.length) {
    if (fields.size >= FIELDS_MAX) throw invalid('too many fields');
    const id = text.slice(at, at + 2);
    const lengthText = text.slice(at + 2, at + 4);
    if (!/^[0-9]{2}$/.test(id) || !/^[0-9]{2}$/.test(lengthText)) throw invalid(`malformed field at offset ${at}`);
    const length = Number(lengthText);
    const value = text.slice(at + 4, at + 4 + length);
    if (value.length !== length) throw invalid(`field ${id} runs past the end`);
    if (fields.has(id)) throw invalid(`field ${id} appears twice`);
    fields.set(id, value);
    at += 4 + length;
  }
  return fields;
}

export interface ParsedStaticQr {
  readonly merchantId: string;
  readonly storeId: string;
  readonly merchantName: string;
}

export function parseStaticQrPayload(payload: string): ParsedStaticQr {
  if (payload.length < 16 || payload.length > PAYLOAD_LENGTH_MAX || !PRINTABLE_ASCII.test(payload)) throw invalid('not an EMVCo QR payload');
  const crcAt = payload.length - 8;
  if (payload.slice(crcAt, crcAt + 4) !== '6304') throw invalid('the CRC must be the last field');
  const expected = crc16CcittFalse(payload.slice(0, crcAt + 4)).toString(16).toUpperCase().padStart(4, '0');
  if (payload.slice(crcAt + 4).toUpperCase() !== expected) throw invalid('CRC mismatch: the code is damaged or altered');
  const fields = parseTlv(payload.slice(0, crcAt));
  if (fields.get('00') !== '01') throw invalid('unsupported payload format indicator');
  if (fields.get('01') !== '11') throw invalid('not a static QR (point of initiation must be 11)');
  if (fields.has('54')) throw invalid('a static store QR carries no amount');
  if (fields.get('53') !== '392' || fields.get('58') !== 'JP') throw invalid('not a JPY merchant in Japan');
  if (!/^[0-9]{4}$/.test(fields.get('52') ?? '') || (fields.get('59') ?? '') === '' || (fields.get('60') ?? '') === '') throw invalid('merchant category, name and city are required');
  const account = kobanAccount(fields);
  return { merchantId: account.merchantId, storeId: account.storeId, merchantName: fields.get('59') ?? '' };
}

function kobanAccount(fields: Map<string, string>): { merchantId: string; storeId: string } {
  for (let id = 26; id <= 51; id++) {
    const template = fields.get(String(id));
    if (template === undefined) continue;
    const sub = parseTlv(template);
    if (sub.get('00') !== KOBAN_QR_GUID) continue;
    const merchantId = sub.get('01') ?? '';
    const storeId = sub.get('02') ?? '';
    if (!UUID.test(merchantId) || !UUID.test(storeId)) throw invalid('the Koban merchant account template is malformed');
    return { merchantId, storeId };
  }
  throw invalid('not a Koban merchant QR');
}
