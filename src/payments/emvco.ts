/**
 * EMVCo merchant-presented QR (MPM), the format JPQR builds on: a string of TLV fields (two-digit id,
 * two-digit length, value) ending in a CRC16/CCITT-FALSE over everything before the CRC value.
 * Koban's static store QR names the merchant and the store in a merchant account template (ids 26–51)
 * whose globally unique identifier (sub-field 00) is Koban's.
 *
 * Field lengths follow EMVCo MPM 1.1 (4.5–4.8): name (59) ≤ 25, city (60) ≤ 15, postal code (61) ≤ 10, all
 * "ans" (printable ASCII). A Japanese merchant name goes into the Merchant Information—Language Template
 * (64: 00 language preference `JA`, 01 name ≤ 25, 02 city ≤ 15, any Unicode) while 59 carries its Latin
 * name (`merchants.name_latin`; without one, `KOBAN MERCHANT` — Koban does not guess a transliteration).
 * Lengths count characters (Unicode code points), the payload is UTF-8, and the CRC runs over its bytes.
 *
 * Parsing is strict and bounded: printable ASCII outside template 64 (and no control characters inside it),
 * every length checked, no duplicate ids, the CRC last and correct, the fields Koban needs present and
 * well-formed. A bad code changes nothing.
 */
import { KobanError } from '../platform/errors.ts';
import { UUID_PATTERN } from '../platform/ids.ts';

export const KOBAN_QR_GUID = 'jp.koban';
const PAYLOAD_LENGTH_MAX = 512;
const FIELDS_MAX = 64;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const NO_CONTROL_CHARACTERS = /^[^\p{Cc}\p{Cs}]*$/u;
const LANGUAGE_TEMPLATE = '64';
export const FIELD_MAX = { merchantName: 25, merchantCity: 15, postalCode: 10 } as const;
const NAME_FALLBACK = 'KOBAN MERCHANT';
const UUID = new RegExp(UUID_PATTERN);

/** CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR. */
export function crc16CcittFalse(text: string): number {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Characters as EMVCo counts them: Unicode code points, not UTF-16 units. */
const characters = (text: string): string[] => Array.from(text);

function tlv(id: string, value: string, alphabet: RegExp = PRINTABLE_ASCII): string {
  const length = characters(value).length;
  if (length > 99 || !alphabet.test(value)) throw new Error(`EMVCo field ${id} too long or has characters it may not carry`);
  return `${id}${String(length).padStart(2, '0')}${value}`;
}

const isPrintableAscii = (text: string): boolean => PRINTABLE_ASCII.test(text) && text.trim() !== '';
const clip = (text: string, max: number): string => characters(text.trim()).slice(0, max).join('').trim();

export interface StaticQrFields {
  readonly merchantId: string;
  readonly storeId: string;
  readonly categoryCode: string;
  /** The merchant's own name, in any script. */
  readonly merchantName: string;
  /** The Latin-script name for tag 59 when `merchantName` is not printable ASCII. */
  readonly merchantNameLatin?: string | null;
  /** The store's city in Latin script (tag 60). */
  readonly merchantCity: string;
  /** The store's city as written locally (template 64, sub-field 02), when it differs. */
  readonly merchantCityLocal?: string | null;
  readonly postalCode: string;
}

/** Tag 59: the name itself when it is ASCII, else its Latin name, else a fixed placeholder. */
function latinName(fields: StaticQrFields): string {
  if (isPrintableAscii(fields.merchantName)) return clip(fields.merchantName, FIELD_MAX.merchantName);
  const latin = fields.merchantNameLatin ?? '';
  return clip(isPrintableAscii(latin) ? latin : NAME_FALLBACK, FIELD_MAX.merchantName);
}

/** Template 64, only for a name that 59 cannot carry as written. */
function languageTemplate(fields: StaticQrFields): string {
  if (isPrintableAscii(fields.merchantName)) return '';
  const cityLocal = fields.merchantCityLocal?.trim() ?? '';
  const template = tlv('00', 'JA') + tlv('01', clip(fields.merchantName, FIELD_MAX.merchantName), NO_CONTROL_CHARACTERS)
    + (cityLocal === '' ? '' : tlv('02', clip(cityLocal, FIELD_MAX.merchantCity), NO_CONTROL_CHARACTERS));
  return tlv(LANGUAGE_TEMPLATE, template, NO_CONTROL_CHARACTERS);
}

function requireAnsField(id: string, value: string, max: number, what: string): string {
  const trimmed = value.trim();
  if (!isPrintableAscii(trimmed) || trimmed.length > max) throw new Error(`EMVCo field ${id} (${what}) must be 1–${max} printable ASCII characters`);
  return trimmed;
}

export function buildStaticQrPayload(fields: StaticQrFields): string {
  const account = tlv('00', KOBAN_QR_GUID) + tlv('01', fields.merchantId) + tlv('02', fields.storeId);
  const body = tlv('00', '01') + tlv('01', '11') + tlv('26', account) + tlv('52', fields.categoryCode) + tlv('53', '392')
    + tlv('58', 'JP') + tlv('59', latinName(fields))
    + tlv('60', requireAnsField('60', fields.merchantCity, FIELD_MAX.merchantCity, 'merchant city'))
    + tlv('61', requireAnsField('61', fields.postalCode, FIELD_MAX.postalCode, 'postal code'))
    + languageTemplate(fields) + '6304';
  return body + crc16CcittFalse(body).toString(16).toUpperCase().padStart(4, '0');
}

function invalid(detail: string): KobanError {
  return new KobanError('qr_payload_invalid', { detail, errors: [{ pointer: '/body/payload', message: detail }] });
}

/** Splits TLV fields; throws on any malformed length, duplicate id or overrun. */
export function parseTlv(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  const chars = characters(text);
  let at = 0;
  while (at < chars.length) {
    if (fields.size >= FIELDS_MAX) throw invalid('too many fields');
    const id = chars.slice(at, at + 2).join('');
    const lengthText = chars.slice(at + 2, at + 4).join('');
    if (!/^[0-9]{2}$/.test(id) || !/^[0-9]{2}$/.test(lengthText)) throw invalid(`malformed field at offset ${at}`);
    const length = Number(lengthText);
    const valueChars = chars.slice(at + 4, at + 4 + length);
    if (valueChars.length !== length) throw invalid(`field ${id} runs past the end`);
    const value = valueChars.join('');
    if (fields.has(id)) throw invalid(`field ${id} appears twice`);
    fields.set(id, value);
    at += 4 + length;
  }
  return fields;
}

export interface ParsedLanguageTemplate {
  readonly languagePreference: string;
  readonly merchantName: string;
  readonly merchantCity: string | null;
}

export interface ParsedStaticQr {
  readonly merchantId: string;
  readonly storeId: string;
  /** Tag 59, Latin script. */
  readonly merchantName: string;
  readonly merchantCity: string;
  readonly postalCode: string | null;
  readonly alternateLanguage: ParsedLanguageTemplate | null;
}

export function parseStaticQrPayload(payload: string): ParsedStaticQr {
  const chars = characters(payload);
  if (chars.length < 16 || chars.length > PAYLOAD_LENGTH_MAX || !NO_CONTROL_CHARACTERS.test(payload)) throw invalid('not an EMVCo QR payload');
  const crcAt = payload.length - 8; // the last eight are ASCII when the code is well-formed; checked next
  if (payload.slice(crcAt, crcAt + 4) !== '6304') throw invalid('the CRC must be the last field');
  const expected = crc16CcittFalse(payload.slice(0, crcAt + 4)).toString(16).toUpperCase().padStart(4, '0');
  if (payload.slice(crcAt + 4).toUpperCase() !== expected) throw invalid('CRC mismatch: the code is damaged or altered');
  const fields = parseTlv(payload.slice(0, crcAt));
  for (const [id, value] of fields) if (id !== LANGUAGE_TEMPLATE && !PRINTABLE_ASCII.test(value)) throw invalid(`field ${id} must be printable ASCII`);
  if (fields.get('00') !== '01') throw invalid('unsupported payload format indicator');
  if (fields.get('01') !== '11') throw invalid('not a static QR (point of initiation must be 11)');
  if (fields.has('54')) throw invalid('a static store QR carries no amount');
  if (fields.get('53') !== '392' || fields.get('58') !== 'JP') throw invalid('not a JPY merchant in Japan');
  if (!/^[0-9]{4}$/.test(fields.get('52') ?? '') || (fields.get('59') ?? '') === '' || (fields.get('60') ?? '') === '') throw invalid('merchant category, name and city are required');
  const account = kobanAccount(fields);
  return {
    merchantId: account.merchantId, storeId: account.storeId, merchantName: fields.get('59') ?? '', merchantCity: fields.get('60') ?? '',
    postalCode: fields.get('61') ?? null, alternateLanguage: parseLanguageTemplate(fields.get(LANGUAGE_TEMPLATE)),
  };
}

function parseLanguageTemplate(template: string | undefined): ParsedLanguageTemplate | null {
  if (template === undefined) return null;
  const sub = parseTlv(template);
  const languagePreference = sub.get('00') ?? '';
  const merchantName = sub.get('01') ?? '';
  if (!/^[A-Z]{2}$/.test(languagePreference) || merchantName === '') throw invalid('the language template needs a language and a name');
  return { languagePreference, merchantName, merchantCity: sub.get('02') ?? null };
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
