/**
 * Writes this session's data connection outcomes into the doctor's memory of the client
 * (DiagnosisContext.history), for the findings of its later sessions. Runs after every other rule, so
 * that they read only what happened before the line they are looking at.
 */
import type { Rule, RuleEnv } from '../types.js';
import { outcomeOf } from './data-attempts.js';

export function clientMemoryRule({ ctx }: RuleEnv): Rule {
  return {
    observe(obs) {
      const ended = obs.dataEnded;
      if (ended && ctx.history && obs.facts.clientIp) ctx.history.note(obs.facts.clientIp, outcomeOf(ended, obs));
    },
  };
}
