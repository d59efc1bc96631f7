import { FtpError, LoginsUnavailableError } from '../errors.js';
import type { FtpAccount, LoginFailure, LoginResult, MountUnavailableReason } from '../ports.js';
import { Reply, reply } from '../reply.js';
import type { Session } from '../session/session.js';
import { DEFAULT_CROSS_FOLDER_RENAME_MAX_BYTES } from '../vfs/cross-area-move.js';
import { openUserFs } from '../vfs/open-user-fs.js';
import type { UserFs } from '../vfs/user-fs.js';
import { defineCommand, optionalArg } from './define.js';

/** Failed logins are answered after a short pause, the same for every reason (slows guessing). */
const FAILED_LOGIN_DELAY_MS = 250;

/** Failed logins one connection may make before it is closed (ProFTPD's MaxLoginAttempts, vsftpd's max_login_fails). */
export const MAX_FAILED_LOGINS_PER_CONNECTION = 3;

export default defineCommand({
  verb: 'PASS',
  syntax: 'PASS <password>',
  help: 'Finish a login with the password',
  access: 'none',
  args: optionalArg,
  async run(session, password) {
    if (session.phase === 'authenticated') return reply(Reply.BadSequence, 'Already logged in');
    const username = session.takePendingUser();
    if (username === null) throw new FtpError(Reply.BadSequence, 'Send USER first');
    // A connection opened before its address was banned gets no further guess (the ban also closes it).
    const admitted = session.ctx.guard?.admit(session.remoteAddress);
    if (admitted && !admitted.ok) {
      session.close('banned', reply(Reply.ServiceNotAvailable, `Closing: ${admitted.reason}`));
      return;
    }
    let result: LoginResult;
    try {
      result = await session.ctx.authenticator.login({
        sessionId: session.id,
        username,
        password,
        remoteAddress: session.remoteAddress,
        tls: session.tls.control,
      });
    } catch (error) {
      if (!(error instanceof LoginsUnavailableError)) throw error;
      // The reply and the disconnect are in the transcript; why, the server's log says (it knows the database).
      session.close('refused', reply(Reply.ServiceNotAvailable, 'Logins are not possible right now; try again later'));
      return;
    }
    if (session.closing) {
      // The client left (or was closed) while its password was checked: a wrong one still counts toward a ban, or a
      // guesser that hangs up before every answer would get unlimited tries, each costing a password hash.
      if (!result.ok) session.ctx.guard?.loginFailed(session.remoteAddress, username, result.reason);
      return;
    }
    if (!result.ok) return failed(session, username, result.reason);
    const account = result.account;
    if (account.tls === 'required' && !session.tls.control) {
      session.event({ type: 'login-failed', username, reason: 'tls-required' }, `Login as ${username} refused: this account requires TLS`);
      return reply(Reply.NotLoggedIn, 'This account requires TLS: send AUTH TLS before logging in');
    }
    const fs = await openTree(session, account);
    if (session.closing) return;
    // Counted with no wait between the count and loggedIn: logins of one account finishing together (their password
    // checks share one hash) must not all see the same count.
    if (account.maxSessions !== null && session.ctx.sessionsOf(account.username, session) >= account.maxSessions) {
      session.close(
        'refused',
        reply(Reply.ServiceNotAvailable, `Too many sessions for ${account.username} (at most ${account.maxSessions})`),
      );
      return;
    }
    session.ctx.guard?.loginSucceeded(session.remoteAddress, account.username);
    session.loggedIn(account, fs);
    session.event({ type: 'login', username: account.username }, `Logged in as ${account.username}`);
    return reply(Reply.LoggedIn, `User ${account.username} logged in`);
  },
});

async function failed(session: Session, username: string, reason: LoginFailure): Promise<ReturnType<typeof reply> | undefined> {
  session.event({ type: 'login-failed', username, reason }, `Login as ${username} failed (${reason})`);
  session.ctx.guard?.loginFailed(session.remoteAddress, username, reason); // may ban the address and close this session
  const count = session.countFailedLogin();
  await session.pause(FAILED_LOGIN_DELAY_MS);
  if (session.closing) return;
  if (count >= MAX_FAILED_LOGINS_PER_CONNECTION) {
    session.close(
      'login-failures',
      reply(Reply.ServiceNotAvailable, `${count} failed logins on this connection: closing control connection`),
    );
    return;
  }
  return reply(Reply.NotLoggedIn, 'Login incorrect');
}

/** The account's tree (see openUserFs); refusals and left-out folders go to the transcript. */
async function openTree(session: Session, account: FtpAccount): Promise<UserFs> {
  try {
    return await openUserFs(account, {
      usage: session.ctx.usage,
      crossFolderRenameMaxBytes: session.settings.crossFolderRenameMaxBytes ?? DEFAULT_CROSS_FOLDER_RENAME_MAX_BYTES,
      onDenied: (path, permission, rule) =>
        session.event(
          { type: 'permission-denied', path, permission, rule },
          `Permission denied: ${permission} on ${path} (${rule === null ? 'no rule covers it' : `rule for ${rule}`})`,
        ),
      onMountUnavailable: (mount, reason) =>
        session.event(
          { type: 'mount-unavailable', folder: mount.folder, path: mount.path, hostDir: mount.hostDir, reason },
          `Folder ${mount.folder} is not available at ${mount.path} (${MOUNT_REASON_TEXT[reason]}); it is left out`,
        ),
    });
  } catch (err) {
    session.ctx.log.error({ sessionId: session.id, err, username: account.username }, 'home directory unavailable');
    throw new FtpError(Reply.NotLoggedIn, 'Your home directory is not available; contact the administrator');
  }
}

const MOUNT_REASON_TEXT: Record<MountUnavailableReason, string> = {
  missing: 'its folder on the server does not exist',
  'not-a-directory': 'its path on the server is not a folder',
  unreadable: 'its folder on the server cannot be opened',
  'parent-blocked': 'a file or an outside link in the home is in the way',
};
