/** Every rule the doctor runs, in the order their findings are listed when they appear together. */
import type { RuleFactory } from '../types.js';
import { activeRule } from './active.js';
import { clientMemoryRule } from './client-memory.js';
import { advertisedAddressRule } from './advertised-address.js';
import { connectionLimitsRule } from './connection-limits.js';
import { filesRule } from './files.js';
import { foreignPeerRule } from './foreign-peer.js';
import { gaveUpRule } from './gave-up.js';
import { loginRule } from './login.js';
import { passiveRule } from './passive.js';
import { routerHelperRule } from './router-helper.js';
import { tlsPolicyRule } from './tls-policy.js';
import { tlsRule } from './tls.js';

export const RULES: readonly RuleFactory[] = [
  connectionLimitsRule,
  loginRule,
  tlsPolicyRule,
  tlsRule,
  advertisedAddressRule,
  passiveRule,
  foreignPeerRule,
  activeRule,
  routerHelperRule,
  filesRule,
  gaveUpRule,
  // Last: the others read the client's memory as it was before the line they look at.
  clientMemoryRule,
];
