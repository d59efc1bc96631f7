import { paths } from '../lib/routes.js';

/** The sections under Settings, each its own page. */
export const SETTINGS_TABS = [
  { href: paths.settings(), label: 'Server' },
  { href: paths.bans(), label: 'Bans' },
  { href: paths.audit(), label: 'Audit log' },
  { href: paths.tokens(), label: 'API tokens' },
];
