/**
 * Accounts for organisations: permission rules, groups of users that share rules and limits, virtual
 * folders mounted into users' trees, the settings a user ends up with (and where each comes from), and the
 * file browser that shows a user's tree as the user sees it.
 */
import { Type, type Static } from 'typebox';
import { PERMISSIONS } from '@ferry/ftp-core/permissions';
import { Nullable, Timestamp } from './common.js';

export { PERMISSIONS, PERMISSION_DESCRIPTIONS, type Permission } from '@ferry/ftp-core/permissions';

export const TLS_POLICIES = ['off', 'allowed', 'required'] as const;
export type TlsPolicy = (typeof TLS_POLICIES)[number];

const VirtualPath = (description: string) => Type.String({ minLength: 1, maxLength: 1024, pattern: '^/', description });

export const PermissionRule = Type.Object(
  {
    path: VirtualPath('Virtual path, e.g. / or /incoming; applies to it and everything below'),
    allow: Type.Array(Type.Enum(PERMISSIONS), { uniqueItems: true }),
  },
  { $id: 'PermissionRule' },
);
export type PermissionRule = Static<typeof PermissionRule>;

export const GROUP_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$';
export const FOLDER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

/** A virtual folder mounted into a user's (or a group's members') tree. */
export const Mount = Type.Object(
  {
    folder: Type.String({ pattern: FOLDER_NAME_PATTERN, description: 'Name of the virtual folder' }),
    path: VirtualPath('Where the folder appears, e.g. /shared/reports (not /, not inside another mount)'),
    allow: Type.Optional(
      Nullable(
        Type.Array(Type.Enum(PERMISSIONS), {
          uniqueItems: true,
          description: "A permission rule for the mount path; null or absent: the tree's rules decide",
        }),
      ),
    ),
  },
  { $id: 'Mount' },
);
export type Mount = Static<typeof Mount>;

// ---------- groups ----------

/** Settings a group can give its members; null (or an empty list) means the group does not set it. */
const groupFields = {
  description: Type.String({ maxLength: 500 }),
  permissions: Type.Array(PermissionRule, { maxItems: 200 }),
  mounts: Type.Array(Mount, { maxItems: 50 }),
  quotaBytes: Nullable(Type.Integer({ minimum: 0 })),
  quotaFiles: Nullable(Type.Integer({ minimum: 0 })),
  maxSessions: Nullable(Type.Integer({ minimum: 1, maximum: 10_000 })),
  uploadBytesPerSecond: Nullable(Type.Integer({ minimum: 1 })),
  downloadBytesPerSecond: Nullable(Type.Integer({ minimum: 1 })),
  allowedCidrs: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100 }),
  tls: Nullable(Type.Enum(TLS_POLICIES)),
  expiresAt: Nullable({ ...Timestamp, description: 'When members without an expiry of their own expire' }),
};

export const Group = Type.Object(
  {
    name: Type.String(),
    ...groupFields,
    /** Users in the group. */
    members: Type.Integer({ minimum: 0 }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Group', description: 'A group of FTP accounts, with its member count' },
);
export type Group = Static<typeof Group>;

export const CreateGroupBody = Type.Object(
  {
    name: Type.String({ pattern: GROUP_NAME_PATTERN }),
    ...Type.Partial(Type.Object(groupFields)).properties,
  },
  { $id: 'CreateGroupBody' },
);
export type CreateGroupBody = Static<typeof CreateGroupBody>;

export const UpdateGroupBody = Type.Partial(Type.Object(groupFields), { $id: 'UpdateGroupBody' });
export type UpdateGroupBody = Static<typeof UpdateGroupBody>;

export const GroupParams = Type.Object({ name: Type.String({ pattern: GROUP_NAME_PATTERN }) });

// ---------- virtual folders ----------

const folderFields = {
  description: Type.String({ maxLength: 500 }),
  hostDir: Type.String({
    minLength: 1,
    maxLength: 4096,
    description: 'The folder on the server: absolute, or relative to FERRY_DATA_DIR; must lie inside FERRY_HOME_ROOTS',
  }),
  quotaBytes: Nullable(Type.Integer({ minimum: 0, description: 'For everything stored in the folder, by all users; null: unlimited' })),
  quotaFiles: Nullable(Type.Integer({ minimum: 0 })),
};

export const Folder = Type.Object(
  {
    name: Type.String(),
    ...folderFields,
    /** Who mounts it: users directly and groups (whose members all see it). */
    mountedBy: Type.Object({ users: Type.Array(Type.String()), groups: Type.Array(Type.String()) }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Folder', description: 'A virtual folder, with who mounts it' },
);
export type Folder = Static<typeof Folder>;

export const CreateFolderBody = Type.Object(
  {
    name: Type.String({ pattern: FOLDER_NAME_PATTERN }),
    hostDir: folderFields.hostDir,
    ...Type.Partial(
      Type.Object({ description: folderFields.description, quotaBytes: folderFields.quotaBytes, quotaFiles: folderFields.quotaFiles }),
    ).properties,
  },
  { $id: 'CreateFolderBody' },
);
export type CreateFolderBody = Static<typeof CreateFolderBody>;

export const UpdateFolderBody = Type.Partial(Type.Object(folderFields), { $id: 'UpdateFolderBody' });
export type UpdateFolderBody = Static<typeof UpdateFolderBody>;

export const FolderParams = Type.Object({ name: Type.String({ pattern: FOLDER_NAME_PATTERN }) });

// ---------- effective settings ----------

export const SETTING_SOURCES = ['user', 'group', 'default'] as const;
export type SettingSource = (typeof SETTING_SOURCES)[number];

const Source = {
  source: Type.Enum(SETTING_SOURCES, { description: 'user: set on the account; group: from `group`; default: nobody sets it' }),
  group: Nullable(Type.String()),
};
const Effective = <T extends Parameters<typeof Type.Object>[0][string]>(value: T) => Type.Object({ value, ...Source });

/** What a user's logins get, each value with where it comes from. */
export const EffectiveSettings = Type.Object(
  {
    username: Type.String(),
    /** The home folder on the server (absolute). */
    homeDir: Type.String(),
    quotaBytes: Effective(Nullable(Type.Integer())),
    quotaFiles: Effective(Nullable(Type.Integer())),
    maxSessions: Effective(Nullable(Type.Integer())),
    uploadBytesPerSecond: Effective(Nullable(Type.Integer())),
    downloadBytesPerSecond: Effective(Nullable(Type.Integer())),
    allowedCidrs: Effective(Type.Array(Type.String())),
    tls: Effective(Type.Enum(TLS_POLICIES)),
    expiresAt: Effective(Nullable(Timestamp)),
    /** The merged rules, by path: the user's rule wins at a path, then the first group's; the longest path decides. */
    permissions: Type.Array(Type.Object({ path: Type.String(), allow: Type.Array(Type.Enum(PERMISSIONS)), ...Source })),
    mounts: Type.Array(
      Type.Object({
        folder: Type.String(),
        path: Type.String(),
        hostDir: Type.String(),
        quotaBytes: Nullable(Type.Integer()),
        quotaFiles: Nullable(Type.Integer()),
        /** false: the folder on the server is missing or outside the allowed roots; the user does not see it. */
        available: Type.Boolean(),
        ...Source,
      }),
    ),
  },
  { $id: 'EffectiveSettings', description: "The settings a user's logins get, each with where it comes from" },
);
export type EffectiveSettings = Static<typeof EffectiveSettings>;

// ---------- files: a user's tree as the user sees it ----------

export const FILE_TYPES = ['file', 'folder', 'mount'] as const;
export type FileType = (typeof FILE_TYPES)[number];

export const FileEntry = Type.Object(
  {
    name: Type.String(),
    /** Virtual path in the user's tree. */
    path: Type.String(),
    type: Type.Enum(FILE_TYPES),
    /** Bytes (files); for folders what the file system reports. */
    size: Type.Integer({ minimum: 0 }),
    modifiedAt: Timestamp,
    /** For folders and mounts: what the user may do inside; for files: what the user may do in the folder holding it. */
    permissions: Type.Array(Type.Enum(PERMISSIONS)),
    /** The virtual folder mounted here (type mount). */
    folder: Nullable(Type.String()),
  },
  { $id: 'FileEntry', description: "A file, folder or mounted folder in a user's tree" },
);
export type FileEntry = Static<typeof FileEntry>;

export const FileListing = Type.Object(
  {
    path: Type.String(),
    /** What the user may do in this folder, and the rule that decides (null: no rule covers it, nothing allowed). */
    permissions: Type.Array(Type.Enum(PERMISSIONS)),
    rule: Nullable(Type.String()),
    /** Where this folder's files are counted: the user's home (folder null) or a virtual folder. */
    storage: Type.Object({
      folder: Nullable(Type.String()),
      usedBytes: Type.Integer({ minimum: 0 }),
      usedFiles: Type.Integer({ minimum: 0 }),
      quotaBytes: Nullable(Type.Integer()),
      quotaFiles: Nullable(Type.Integer()),
    }),
    entries: Type.Array(FileEntry),
    /** More entries than the listing returns (`limit`). */
    truncated: Type.Boolean(),
  },
  { $id: 'FileListing', description: "A folder of a user's tree, with the user's permissions and the storage it counts against" },
);
export type FileListing = Static<typeof FileListing>;

export const FilesQuery = Type.Object({
  path: Type.String({ minLength: 1, maxLength: 4096, pattern: '^/', default: '/' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 1000 })),
});

export const FilePathQuery = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096, pattern: '^/' }) });

export const CreateFileFolderBody = Type.Object(
  { path: VirtualPath('The folder to create, e.g. /pub/2026') },
  { $id: 'CreateFileFolderBody' },
);

// ---------- bulk actions on users ----------

export const USER_BULK_ACTIONS = ['enable', 'disable', 'delete', 'add-to-group', 'remove-from-group'] as const;
export type UserBulkAction = (typeof USER_BULK_ACTIONS)[number];

export const UserBulkBody = Type.Object(
  {
    action: Type.Enum(USER_BULK_ACTIONS),
    usernames: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 500, uniqueItems: true }),
    /** For add-to-group and remove-from-group. */
    group: Type.Optional(Type.String({ pattern: GROUP_NAME_PATTERN })),
  },
  { $id: 'UserBulkBody' },
);
export type UserBulkBody = Static<typeof UserBulkBody>;

export const UserBulkResult = Type.Object(
  {
    /** Users the action was applied to. */
    done: Type.Array(Type.String()),
    /** Names that are not users. */
    notFound: Type.Array(Type.String()),
  },
  { $id: 'UserBulkResult', description: 'The users the action was applied to, and the names that are not users' },
);
export type UserBulkResult = Static<typeof UserBulkResult>;
