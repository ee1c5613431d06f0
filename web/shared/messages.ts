/** The shape of an app's strings: every key in Japanese and English (plain .ts so Node tests can load it). */
export type Language = 'ja' | 'en';
export type Messages = Record<string, { ja: string; en: string }>;
