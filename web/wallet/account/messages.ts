import type { Messages } from '../../shared/i18n.tsx';

export const accountMessages: Messages = {};
