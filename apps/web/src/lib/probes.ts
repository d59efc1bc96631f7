/** Wording and grouping for probe links ("Test from the customer's network"). */
import {
  PROBE_TOOLS,
  type Probe,
  type ProbeCommand,
  type ProbeMode,
  type ProbeState,
  type ProbeTool,
  type ProbeVerdictState,
} from '@ferry/contract';

export const MODE_LABELS: Record<ProbeMode, string> = {
  'plain-passive': 'Plain FTP, passive',
  'plain-active': 'Plain FTP, active',
  'ftps-passive': 'FTPS, passive',
  'ftps-active': 'FTPS, active',
};

/** Badge class and text per verdict. */
export const STATE_BADGES: Record<ProbeVerdictState, { kind: 'ok' | 'error' | 'info'; label: string }> = {
  works: { kind: 'ok', label: 'Works' },
  fails: { kind: 'error', label: 'Fails' },
  untested: { kind: 'info', label: 'Not tested' },
};

/** Badge class and text per link state. */
export const PROBE_STATE_BADGES: Record<ProbeState, { kind: 'ok' | 'warn' | 'muted'; label: string }> = {
  active: { kind: 'ok', label: 'Active' },
  'used-up': { kind: 'warn', label: 'Used up' },
  expired: { kind: 'muted', label: 'Expired' },
};

/**
 * The link to show the new link's credentials and commands for: the listed version of `created` (it may have
 * expired or been used up since), or null once its credentials no longer work, so that nothing dead is offered
 * for copying.
 */
export function liveCreated<T extends { probe: Pick<Probe, 'id' | 'state'> }>(
  created: T | null,
  listed: readonly Pick<Probe, 'id' | 'state'>[] | null,
): T | null {
  if (!created) return null;
  const state = listed?.find((p) => p.id === created.probe.id)?.state ?? created.probe.state;
  return state === 'active' ? created : null;
}

/** Choices for how long a link works (minutes), within the API's 5-1440. */
export const VALIDITY_CHOICES = [
  { minutes: 15, label: '15 minutes' },
  { minutes: 60, label: '1 hour' },
  { minutes: 240, label: '4 hours' },
  { minutes: 1440, label: '24 hours' },
] as const;

/** The commands per tool, in PROBE_TOOLS order; tools without commands are left out. */
export function commandsByTool(commands: readonly ProbeCommand[]): { tool: ProbeTool; commands: ProbeCommand[] }[] {
  return PROBE_TOOLS.map((tool) => ({ tool, commands: commands.filter((c) => c.tool === tool) })).filter((g) => g.commands.length > 0);
}

/** "expires in 42 min", "expires in 3 h 5 min", or "expired". */
export function expiryText(probe: Pick<Probe, 'expiresAt'>, now: number): string {
  const left = probe.expiresAt - now;
  if (left <= 0) return 'expired';
  const minutes = Math.ceil(left / 60_000);
  if (minutes < 60) return `expires in ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `expires in ${hours} h${rest > 0 ? ` ${rest} min` : ''}`;
}

/** "3 of 20 logins used", or "used up". */
export function usesText(probe: Pick<Probe, 'sessionsUsed' | 'maxSessions'>): string {
  return probe.sessionsUsed >= probe.maxSessions ? 'used up' : `${probe.sessionsUsed} of ${probe.maxSessions} logins used`;
}
