/** apps/server's public surface, for the README generator and end-to-end tooling. */
export { buildApp, DEFAULT_WEB_ROOT, type AppOptions } from './app.js';
export { CONFIG_VARIABLES, ConfigError, loadConfig, type Config, type ConfigVariable } from './config.js';
export { createServices, type RuntimeInfo, type Services, type ServicesOptions, type Stores } from './services.js';
export { sessionText } from './exports/session-text.js';
