import type { Abilities } from '../lib/roles.js';
import { paths } from '../lib/routes.js';

/** The sections under Settings, each its own page; the audit log and API tokens only for roles that may open them. */
export const settingsTabs = (can: Abilities) => [
  { href: paths.settings(), label: 'Server' },
  { href: paths.bans(), label: 'Bans' },
  ...(can.readAudit ? [{ href: paths.audit(), label: 'Audit log' }] : []),
  ...(can.manageTokens ? [{ href: paths.tokens(), label: 'API tokens' }] : []),
];
