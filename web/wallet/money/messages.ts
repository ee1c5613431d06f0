import type { Messages } from '../../shared/i18n.tsx';

export const moneyMessages: Messages = {};
