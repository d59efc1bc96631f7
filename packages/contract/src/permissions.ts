/**
 * Permission names and descriptions for the dashboard, without the TypeBox runtime: the subpath export
 * '@ferry/contract/permissions'. The engine owns them (and how rules resolve); this only passes them on.
 */
export {
  PERMISSIONS,
  PERMISSION_DESCRIPTIONS,
  isPermission,
  mergeRules,
  normalizeRulePath,
  orderedPermissions,
  resolvePermissions,
  rulePathProblem,
  type Permission,
  type PermissionRule,
  type ResolvedPermissions,
} from '@ferry/ftp-core/permissions';
