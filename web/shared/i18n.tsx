/**
 * Japanese and English. Japanese is the default for customers (the wallet), English for the console;
 * the choice is kept per browser. Every visible string goes through `t`, so a missing key shows up
 * as the key itself (and in the i18n test), never as an empty label.
 */
import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';

import type { Language, Messages } from './messages.ts';

export type { Language, Messages };

interface I18n {
  language: Language;
  setLanguage(language: Language): void;
  t(key: string, values?: Record<string, string | number>): string;
}

const I18nContext = createContext<I18n | null>(null);
const STORAGE_KEY = 'koban.language';

export function I18nProvider(props: { messages: Messages; defaultLanguage: Language; children: ReactNode }) {
  const stored = typeof localStorage === 'undefined' ? null : localStorage.getItem(STORAGE_KEY);
  const [language, setLanguageState] = useState<Language>(stored === 'en' || stored === 'ja' ? stored : props.defaultLanguage);
  const value = useMemo<I18n>(() => ({
    language,
    setLanguage(next) {
      localStorage.setItem(STORAGE_KEY, next);
      document.documentElement.lang = next;
      setLanguageState(next);
    },
    t(key, values) {
      const entry = props.messages[key];
      let text = entry === undefined ? key : entry[language];
      for (const [name, replacement] of Object.entries(values ?? {})) text = text.replaceAll(`{${name}}`, String(replacement));
      return text;
    },
  }), [language, props.messages]);
  document.documentElement.lang = language;
  return <I18nContext.Provider value={value}>{props.children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const i18n = useContext(I18nContext);
  if (i18n === null) throw new Error('useI18n outside I18nProvider');
  return i18n;
}

/** Yen are formatted from integer minor units given as a string; never through a float. */
export function formatYen(amountMinor: string, language: Language): string {
  const negative = amountMinor.startsWith('-');
  const digits = negative ? amountMinor.slice(1) : amountMinor;
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '−' : ''}${language === 'ja' ? `${grouped}円` : `¥${grouped}`}`;
}
