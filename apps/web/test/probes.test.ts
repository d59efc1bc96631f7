import type { ProbeCommand } from '@ferry/contract';
import { describe, expect, it } from 'vitest';
import { commandsByTool, expiryText, liveCreated, PROBE_STATE_BADGES, usesText } from '../src/lib/probes.js';

const command = (tool: 'curl' | 'lftp', id: string): ProbeCommand => ({ id, label: id, tls: false, mode: 'passive', tool, command: id });

describe('probe links', () => {
  it('group commands by tool, curl first, leaving out tools without commands', () => {
    const lftp = command('lftp', 'lftp-plain-passive');
    const curl = command('curl', 'curl-plain-passive');
    expect(commandsByTool([lftp, curl])).toEqual([
      { tool: 'curl', commands: [curl] },
      { tool: 'lftp', commands: [lftp] },
    ]);
    expect(commandsByTool([lftp])).toEqual([{ tool: 'lftp', commands: [lftp] }]);
  });

  it('say when a link expires, rounding up to the minute', () => {
    const now = 1_000_000;
    expect(expiryText({ expiresAt: now }, now)).toBe('expired');
    expect(expiryText({ expiresAt: now + 1 }, now)).toBe('expires in 1 min');
    expect(expiryText({ expiresAt: now + 59 * 60_000 }, now)).toBe('expires in 59 min');
    expect(expiryText({ expiresAt: now + 60 * 60_000 }, now)).toBe('expires in 1 h');
    expect(expiryText({ expiresAt: now + 185 * 60_000 }, now)).toBe('expires in 3 h 5 min');
  });

  it('count the logins used', () => {
    expect(usesText({ sessionsUsed: 3, maxSessions: 20 })).toBe('3 of 20 logins used');
    expect(usesText({ sessionsUsed: 20, maxSessions: 20 })).toBe('used up');
  });

  it('badge every state, an expired link in grey', () => {
    expect(PROBE_STATE_BADGES.active).toEqual({ kind: 'ok', label: 'Active' });
    expect(PROBE_STATE_BADGES['used-up']).toEqual({ kind: 'warn', label: 'Used up' });
    expect(PROBE_STATE_BADGES.expired).toEqual({ kind: 'muted', label: 'Expired' });
  });

  it('offer the new link for copying only while the list says it is active', () => {
    const created = { probe: { id: 'p1', state: 'active' as const } };
    expect(liveCreated(null, [])).toBeNull();
    expect(liveCreated(created, null)).toBe(created); // the list is not loaded yet
    expect(liveCreated(created, [{ id: 'p2', state: 'expired' }])).toBe(created);
    expect(liveCreated(created, [{ id: 'p1', state: 'active' }])).toBe(created);
    expect(liveCreated(created, [{ id: 'p1', state: 'expired' }])).toBeNull();
    expect(liveCreated(created, [{ id: 'p1', state: 'used-up' }])).toBeNull();
  });
});
