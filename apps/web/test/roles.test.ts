import { describe, expect, it } from 'vitest';
import { abilitiesOf, mayDownloadTranscripts, roleLabel, roleNeededFor, rolesUpTo } from '../src/lib/roles.js';

describe('abilitiesOf', () => {
  it.each([
    ['viewer', []],
    ['operator', ['disconnect', 'liftBans', 'selfTest', 'retryDeliveries']],
    [
      'admin',
      [
        'disconnect',
        'liftBans',
        'selfTest',
        'retryDeliveries',
        'editUsers',
        'editSettings',
        'manageProbes',
        'readAudit',
        'readAdmins',
        'manageTokens',
        'editEventRules',
      ],
    ],
    [
      'owner',
      [
        'disconnect',
        'liftBans',
        'selfTest',
        'retryDeliveries',
        'editUsers',
        'editSettings',
        'manageProbes',
        'readAudit',
        'readAdmins',
        'manageTokens',
        'editEventRules',
        'manageAdmins',
        'editSecurity',
      ],
    ],
  ] as const)('%s may do exactly %j', (role, allowed) => {
    const can = abilitiesOf(role);
    const granted = Object.entries(can)
      .filter(([, yes]) => yes)
      .map(([ability]) => ability);
    expect(granted.sort()).toEqual([...allowed].sort());
  });

  it('gives nobody signed in nothing', () => {
    expect(Object.values(abilitiesOf(null)).some(Boolean)).toBe(false);
  });
});

describe('roles', () => {
  it('names the lowest role an ability needs', () => {
    expect(roleNeededFor('editUsers')).toBe('admin');
    expect(roleNeededFor('disconnect')).toBe('operator');
    expect(roleNeededFor('editSecurity')).toBe('owner');
  });

  it('lets a role hand on its own role and those below it', () => {
    expect(rolesUpTo('viewer')).toEqual(['viewer']);
    expect(rolesUpTo('admin')).toEqual(['viewer', 'operator', 'admin']);
    expect(rolesUpTo('owner')).toEqual(['viewer', 'operator', 'admin', 'owner']);
  });

  it('lets viewers download transcripts only while the setting allows it', () => {
    expect(mayDownloadTranscripts('viewer', false)).toBe(false);
    expect(mayDownloadTranscripts('viewer', true)).toBe(true);
    expect(mayDownloadTranscripts('operator', false)).toBe(true);
    expect(mayDownloadTranscripts(null, true)).toBe(false);
  });

  it('capitalises role names for labels', () => {
    expect(roleLabel('operator')).toBe('Operator');
  });
});
