/**
 * Rule thresholds as data: each rule declares its parameters once (kind, bounds) and gets parsing and
 * serialisation from here, so an operator's change is validated the same way as the shipped defaults.
 * Amounts are bigint minor units, stored as strings of digits.
 */
import { KobanError } from '../platform/errors.ts';

/**
 * What a number counts, so the console can say it in words ("3 times", "10 minutes", "¥20,000") instead of
 * showing `historyDays` or `...Minor`. Amounts are yen: the yen has no minor unit, so one minor unit is ¥1.
 */
export const PARAM_UNITS = ['times', 'accounts', 'stores', 'minutes', 'hours', 'days', 'percent', 'multiple', 'km', 'yen', 'codes'] as const;
export type ParamUnit = (typeof PARAM_UNITS)[number];
type CountUnit = Exclude<ParamUnit, 'yen' | 'codes' | 'km'>;

type Spec =
  | { readonly kind: 'count'; readonly min: number; readonly max: number; readonly unit: CountUnit }
  | { readonly kind: 'minor'; readonly max: bigint }
  | { readonly kind: 'number'; readonly min: number; readonly max: number; readonly unit: 'km' }
  | { readonly kind: 'codes'; readonly pattern: RegExp; readonly maxItems: number };

/** A parameter as the console shows it: its unit and bounds (amounts as strings of digits). */
export interface ParamDescription {
  readonly name: string;
  readonly unit: ParamUnit;
  readonly min: string | null;
  readonly max: string | null;
}

type ValueOf<S extends Spec> = S extends { kind: 'minor' } ? bigint : S extends { kind: 'codes' } ? readonly string[] : number;
export type ParamsOf<T extends Record<string, Spec>> = { readonly [K in keyof T]: ValueOf<T[K]> };

export const count = (min: number, max: number, unit: CountUnit = 'times') => ({ kind: 'count', min, max, unit }) as const;
export const minor = (max: bigint = 1_000_000_000n) => ({ kind: 'minor', max }) as const;
export const number = (min: number, max: number, unit: 'km' = 'km') => ({ kind: 'number', min, max, unit }) as const;
export const codes = (pattern: RegExp, maxItems: number) => ({ kind: 'codes', pattern, maxItems }) as const;

export function paramCodec<T extends Record<string, Spec>>(ruleId: string, spec: T) {
  return {
    parse(input: unknown): ParamsOf<T> {
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid(ruleId, '', 'must be an object');
      const source = input as Record<string, unknown>;
      const extra = Object.keys(source).find((key) => !Object.hasOwn(spec, key));
      if (extra !== undefined) throw invalid(ruleId, extra, 'is not a parameter of this rule');
      const out: Record<string, unknown> = {};
      for (const [name, field] of Object.entries(spec)) out[name] = parseOne(ruleId, name, field, source[name]);
      return out as ParamsOf<T>;
    },
    serialize(params: ParamsOf<T>): Record<string, unknown> {
      const out: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(params)) out[name] = typeof value === 'bigint' ? value.toString() : value;
      return out;
    },
    describeParams(): ParamDescription[] {
      return Object.entries(spec).map(([name, field]) => describeOne(name, field));
    },
  };
}

function describeOne(name: string, field: Spec): ParamDescription {
  switch (field.kind) {
    case 'count':
    case 'number':
      return { name, unit: field.unit, min: String(field.min), max: String(field.max) };
    case 'minor':
      return { name, unit: 'yen', min: '1', max: field.max.toString() };
    case 'codes':
      return { name, unit: 'codes', min: null, max: String(field.maxItems) };
  }
}

function parseOne(ruleId: string, name: string, field: Spec, value: unknown): unknown {
  switch (field.kind) {
    case 'count':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < field.min || value > field.max) throw invalid(ruleId, name, `must be a whole number from ${field.min} to ${field.max}`);
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < field.min || value > field.max) throw invalid(ruleId, name, `must be a number from ${field.min} to ${field.max}`);
      return value;
    case 'minor': {
      const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : '';
      if (!/^[1-9][0-9]{0,17}$/.test(text) || BigInt(text) > field.max) throw invalid(ruleId, name, `must be a positive amount of minor units up to ${field.max}, as a string of digits`);
      return BigInt(text);
    }
    case 'codes':
      if (!Array.isArray(value) || value.length > field.maxItems || !value.every((v) => typeof v === 'string' && field.pattern.test(v))) {
        throw invalid(ruleId, name, `must be a list of at most ${field.maxItems} codes matching ${field.pattern}`);
      }
      return [...new Set(value as string[])];
  }
}

function invalid(ruleId: string, name: string, message: string): KobanError {
  const pointer = `/body/params${name === '' ? '' : `/${name}`}`;
  return new KobanError('risk_rule_invalid', { detail: `${ruleId}: ${name === '' ? 'params' : name} ${message}`, errors: [{ pointer, message }] });
}
