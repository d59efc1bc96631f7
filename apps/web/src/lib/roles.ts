import { ADMIN_ROLES, roleAtLeast, type AdminRole } from '@ferry/contract';

/**
 * What the signed-in admin's role lets the dashboard offer. The server checks every request anyway (403
 * APP_FORBIDDEN_ROLE); this only hides what would fail, so that a viewer sees a clean read-only dashboard.
 */
export interface Abilities {
  /** Disconnect live FTP sessions. */
  disconnect: boolean;
  /** Lift bans. */
  liftBans: boolean;
  /** Run the connectivity self-test. */
  selfTest: boolean;
  /** Create, edit and delete FTP users. */
  editUsers: boolean;
  /** Change the server settings (not the security ones). */
  editSettings: boolean;
  /** Create and delete test links (probes). */
  manageProbes: boolean;
  /** Read the audit log. */
  readAudit: boolean;
  /** Read the admins list. */
  readAdmins: boolean;
  /** Add, change and delete admins. */
  manageAdmins: boolean;
  /** Create and revoke one's own API tokens (owners: everyone's). */
  manageTokens: boolean;
  /** Change the security settings (SECURITY_SETTINGS). */
  editSecurity: boolean;
  /** Create, change, test and delete event rules. */
  editEventRules: boolean;
  /** Retry an event delivery now. */
  retryDeliveries: boolean;
}

/** The lowest role each ability needs (the same as the API's routes declare). */
const NEEDS: { readonly [K in keyof Abilities]: AdminRole } = {
  disconnect: 'operator',
  liftBans: 'operator',
  selfTest: 'operator',
  retryDeliveries: 'operator',
  editUsers: 'admin',
  editSettings: 'admin',
  manageProbes: 'admin',
  readAudit: 'admin',
  readAdmins: 'admin',
  manageTokens: 'admin',
  editEventRules: 'admin',
  manageAdmins: 'owner',
  editSecurity: 'owner',
};

/** Everything `role` may do; nobody signed in (null) may do nothing. */
export function abilitiesOf(role: AdminRole | null): Abilities {
  const entries = Object.entries(NEEDS).map(([ability, needed]) => [ability, role !== null && roleAtLeast(role, needed)]);
  return Object.fromEntries(entries) as unknown as Abilities;
}

/** The lowest role an ability needs, for "This needs the admin role" messages. */
export const roleNeededFor = (ability: keyof Abilities): AdminRole => NEEDS[ability];

/** The roles `role` may hand on (to an API token): its own and every one below it. */
export const rolesUpTo = (role: AdminRole): AdminRole[] => ADMIN_ROLES.filter((r) => roleAtLeast(role, r));

/** Transcript downloads: operators and up always; viewers only while the owner's setting allows it. */
export const mayDownloadTranscripts = (role: AdminRole | null, viewersDownloadTranscripts: boolean): boolean =>
  role !== null && (roleAtLeast(role, 'operator') || viewersDownloadTranscripts);

/** "Viewer", "Operator", … for labels. */
export const roleLabel = (role: AdminRole): string => role.charAt(0).toUpperCase() + role.slice(1);
