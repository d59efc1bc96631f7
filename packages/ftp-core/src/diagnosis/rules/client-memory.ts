/**
 * Writes this session's data connection outcomes into the doctor's memory of the client
 * (DiagnosisContext.history), for the findings of its later sessions. Runs after every other rule, so
 * that they read only what happened before the line they are looking at.
 */
import type { Rule, RuleEnv } from '../types.js';
import { dataAttempts } from './data-attempts.js';

export function clientMemoryRule({ ctx }: RuleEnv): Rule {
  const attempts = dataAttempts();
  return {
    observe(obs) {
      const ended = attempts.observe(obs);
      const { facts, line } = obs;
      if (!ended || !ctx.history || !facts.clientIp) return;
      const { command, path, address } = ended.attempt;
      ctx.history.note(facts.clientIp, {
        sessionId: line.sessionId,
        at: ended.at,
        tls: facts.controlTls,
        command,
        path,
        worked: ended.worked,
        address,
      });
    },
  };
}
