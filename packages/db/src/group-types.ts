/** The records of groups, virtual folders and bulk user actions (see types.ts for the rest). */
import type { MountRecord, PermissionRule, TlsPolicy } from './types.js';

/** What a group gives its members; null (or an empty list) = the group does not set it. */
export interface GroupFields {
  description: string;
  permissions: PermissionRule[];
  mounts: MountRecord[];
  quotaBytes: number | null;
  quotaFiles: number | null;
  maxSessions: number | null;
  uploadBytesPerSecond: number | null;
  downloadBytesPerSecond: number | null;
  allowedCidrs: string[];
  tls: TlsPolicy | null;
  expiresAt: number | null;
}

export interface GroupRecord extends GroupFields {
  name: string;
  /** Users in the group. */
  members: number;
  createdAt: number;
  updatedAt: number;
}

export type NewGroup = { name: string } & Partial<GroupFields>;
export type GroupPatch = Partial<GroupFields>;

export interface FolderFields {
  description: string;
  /** Absolute, or relative to the server's data directory (resolved by the server, not here). */
  hostDir: string;
  quotaBytes: number | null;
  quotaFiles: number | null;
}

export interface FolderRecord extends FolderFields {
  name: string;
  /** Users that mount it themselves, and groups that mount it for their members; sorted. */
  mountedBy: { users: string[]; groups: string[] };
  createdAt: number;
  updatedAt: number;
}

export type NewFolder = { name: string; hostDir: string } & Partial<Omit<FolderFields, 'hostDir'>>;
export type FolderPatch = Partial<FolderFields>;

/** The bulk actions on users; the group ones need `group`. */
export type UserBulkAction = 'enable' | 'disable' | 'delete' | 'add-to-group' | 'remove-from-group';

export interface UserBulkOutcome {
  /** Users the action was applied to (in the order given). */
  done: string[];
  /** Names that are not users. */
  notFound: string[];
}
