/**
 * FTP logins of probe links, in front of the account authenticator. A name that belongs to a probe link is checked
 * against the link (argon2id, like an account); every other name goes to the accounts. A link that has expired gets
 * a 530 that says so whatever the password: its name is random and the link is dead (retired links keep only their
 * name and results), so the reply gives nothing away, and it still costs one argon2 verification like any failed
 * login. A correct password on a used-up link gets a 530 that says so (the customer should ask for a new link, not
 * retype the password); a wrong one gets the usual failed login, with its delay and its count towards a ban. Each
 * login counts one use; a refused one counts none. A deleted link is gone: its name is unknown like any other. A
 * probe login may only list and download, in the probe folder.
 */
import type { ProbeRecord, ProbeStore } from '@ferry/db';
import { FtpError, Reply, type FtpAccount, type LoginAttempt, type LoginResult } from '@ferry/ftp-core';
import { ensureProbeFolder } from '../probes/folder.js';
import type { DbAuthenticator } from './db-authenticator.js';

/** What a probe login that is refused for a reason other than its password is told. */
export const PROBE_REPLIES = {
  expired: 'This test link has expired; ask for a new one',
  usedUp: 'This test link has been used up; ask for a new one',
  deleted: 'This test link was deleted',
} as const;

export interface ProbeLoginOptions {
  probes: ProbeStore;
  dataDir: string;
  now: () => number;
}

export function withProbeLogins(accounts: DbAuthenticator, opts: ProbeLoginOptions): DbAuthenticator {
  let folder: Promise<string> | null = null;
  const probeHome = () =>
    (folder ??= ensureProbeFolder(opts.dataDir).catch((error: unknown) => {
      folder = null; // try again at the next login
      throw error;
    }));

  return {
    async login(attempt: LoginAttempt): Promise<LoginResult> {
      if (!(await opts.probes.findByUsername(attempt.username))) return accounts.login(attempt);
      const checked = await opts.probes.verifyLogin(attempt.username, attempt.password, opts.now());
      if (!checked.ok) {
        if (checked.reason === 'expired') throw new FtpError(Reply.NotLoggedIn, PROBE_REPLIES.expired);
        return { ok: false, reason: checked.reason };
      }
      const use = await opts.probes.countUse(checked.probe.id, opts.now());
      if (use === 'gone') return { ok: false, reason: 'unknown-user' };
      if (use === 'expired') throw new FtpError(Reply.NotLoggedIn, PROBE_REPLIES.expired);
      if (use === 'used-up') throw new FtpError(Reply.NotLoggedIn, PROBE_REPLIES.usedUp);
      return { ok: true, account: probeAccount(checked.probe, await probeHome()) };
    },
    invalidate: (username) => accounts.invalidate(username),
  };
}

function probeAccount(probe: ProbeRecord, homeDir: string): FtpAccount {
  return {
    username: probe.username,
    homeDir,
    permissions: [{ path: '/', allow: ['list', 'download'] }],
    quotaBytes: null,
    quotaFiles: null,
    maxSessions: null,
    uploadBytesPerSecond: null,
    downloadBytesPerSecond: null,
    tls: 'allowed',
    expiresAt: probe.expiresAt,
  };
}
