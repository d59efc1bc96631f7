export { openDb, closeDb, schemaVersion, type Db } from './client.js';
export { MigrationError } from './migrate.js';
export { hashPassword, verifyPassword } from './passwords.js';
export { permissionsFor } from './permissions.js';
export { createUserStore } from './stores/user-store.js';
export { createAdminStore } from './stores/admin-store.js';
export { createAuthTokenStore } from './stores/auth-token-store.js';
export { createSettingsStore } from './stores/settings-store.js';
export * from './types.js';
