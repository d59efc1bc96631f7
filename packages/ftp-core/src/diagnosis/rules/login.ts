/**
 * Logins: why each failed (the client only ever sees 530; the operator sees the reason), a run of
 * failures that looks like guessing, and a home folder the server could not open.
 */
import type { LoginFailure, MountUnavailableReason } from '../../ports.js';
import { eventOf } from './common.js';
import { formatList } from '../format.js';
import { Reply, replyCodeOf } from '../../reply.js';
import type { FindingDraft, FindingSeverity, Rule } from '../types.js';

export const LOGIN_UNKNOWN_USER = 'login-unknown-user';
export const LOGIN_BAD_PASSWORD = 'login-bad-password';
export const LOGIN_ACCOUNT_DISABLED = 'login-account-disabled';
export const LOGIN_ACCOUNT_EXPIRED = 'login-account-expired';
export const LOGIN_ADDRESS_NOT_ALLOWED = 'login-address-not-allowed';
export const LOGIN_GUESSING = 'login-guessing';
export const HOME_UNAVAILABLE = 'home-unavailable';
export const MOUNT_UNAVAILABLE = 'mount-unavailable';

/** What is wrong with a mounted folder's host folder, and what the admin does about it. */
const MOUNT_PROBLEMS: Record<MountUnavailableReason, { what: (dir: string) => string; fix: (dir: string) => string }> = {
  missing: {
    what: (dir) => `its folder on the server, ${dir}, does not exist`,
    fix: (dir) => `Create ${dir} on the server (writable by the user Ferry runs as), or change the folder's path on the Folders page.`,
  },
  'not-a-directory': {
    what: (dir) => `its path on the server, ${dir}, is not a folder`,
    fix: (dir) => `Move the file at ${dir} aside and create a folder there, or change the folder's path on the Folders page.`,
  },
  unreadable: {
    what: (dir) => `the server cannot open its folder ${dir}`,
    fix: (dir) => `Give the user Ferry runs as access to ${dir} (and every folder above it), then log in again.`,
  },
  'parent-blocked': {
    what: () => `a file, or a link leading out of the home, stands where the folder holding it would be created in the home`,
    fix: () => `Remove or rename that file in the user's home folder, or mount the folder at another path.`,
  },
};

/** The engine's 530 when the account is fine but its home folder is not (it records no event for it). */
const HOME_MESSAGE = /home director|home folder/i;

/** Failures in a row (wrong user or password) that look like guessing rather than a typo. */
export const GUESSING_THRESHOLD = 3;

type Explained = Pick<FindingDraft, 'code' | 'title' | 'explanation' | 'fix'> & { severity: FindingSeverity };

/** Per reason; 'tls-required' is the TLS policy rule's. */
function explainFailure(reason: Exclude<LoginFailure, 'tls-required'>, user: string, client: string): Explained {
  const same = 'The client was only told "Login incorrect", exactly as for any other failure, so it cannot tell why.';
  switch (reason) {
    case 'unknown-user':
      return {
        code: LOGIN_UNKNOWN_USER,
        severity: 'warning',
        title: `Login failed: there is no user "${user}"`,
        explanation: `The client tried to log in as "${user}", but no such user exists. ${same}`,
        fix: `Check the user name saved in the client, or create "${user}" on the Users page.`,
      };
    case 'bad-password':
      return {
        code: LOGIN_BAD_PASSWORD,
        severity: 'warning',
        title: `Login failed: wrong password for "${user}"`,
        explanation: `User "${user}" exists, but the password did not match. ${same}`,
        fix: `Have the user retype the password (clients often keep an old saved one), or set a new password for "${user}" on the Users page.`,
      };
    case 'disabled':
      return {
        code: LOGIN_ACCOUNT_DISABLED,
        severity: 'error',
        title: `Login refused: user "${user}" is disabled`,
        explanation: `The password may be right, but the account "${user}" is disabled. ${same}`,
        fix: `If "${user}" should have access again, tick "Enabled" for the user on the Users page.`,
      };
    case 'expired':
      return {
        code: LOGIN_ACCOUNT_EXPIRED,
        severity: 'error',
        title: `Login refused: the account "${user}" has expired`,
        explanation: `The account "${user}" is past its expiry date. ${same}`,
        fix: `Move or clear "Account expires" for "${user}" on the Users page.`,
      };
    case 'address-not-allowed':
      return {
        code: LOGIN_ADDRESS_NOT_ALLOWED,
        severity: 'error',
        title: `Login refused: "${user}" may not log in from ${client}`,
        explanation: `User "${user}" may only log in from certain addresses, and ${client} is not one of them. ${same}`,
        fix: `If ${client} is legitimate, add it (or its network, e.g. a /24 range) to "Allowed networks" of "${user}" on the Users page.`,
      };
  }
}

export function loginRule(): Rule {
  const guesses: { seq: number; username: string }[] = [];
  let userSeq: number | null = null;
  let failedSinceUser = false;
  return {
    observe({ line, facts }, out) {
      if (line.kind === 'command' && facts.lastCommand?.verb === 'USER') userSeq = line.seq;
      if (eventOf(line, 'login-failed')) failedSinceUser = true;
      if (line.kind === 'command' && facts.lastCommand?.verb === 'USER') failedSinceUser = false;
      if (
        line.kind === 'reply' &&
        facts.lastCommand?.verb === 'PASS' &&
        !failedSinceUser &&
        replyCodeOf(line.text) === Reply.NotLoggedIn &&
        HOME_MESSAGE.test(line.text)
      ) {
        const user = facts.username ?? 'the user';
        out.report(
          {
            code: HOME_UNAVAILABLE,
            severity: 'error',
            title: `"${user}" could not log in: the home folder is not available`,
            explanation: `The password was accepted, but the server could not create or open the home folder of "${user}", so the login was refused. The server log has the exact error (usually a folder that does not exist on a missing disk, or one the server process may not write to).`,
            fix: `Check "Home folder" of "${user}" on the Users page, and that the folder exists and is writable by the user Ferry runs as.`,
            at: line.at,
          },
          [facts.lastCommand.seq, line.seq],
        );
        return;
      }
      const unmounted = eventOf(line, 'mount-unavailable');
      if (unmounted) {
        const user = facts.username ? `"${facts.username}"` : 'the user';
        const problem = MOUNT_PROBLEMS[unmounted.reason];
        out.report(
          {
            code: MOUNT_UNAVAILABLE,
            severity: 'warning',
            title: `Folder "${unmounted.folder}" was left out of ${user}'s files at ${unmounted.path}`,
            explanation: `The login worked, but the virtual folder "${unmounted.folder}" could not be mounted at ${unmounted.path}: ${problem.what(unmounted.hostDir)}. Ferry never creates a folder's host folder itself, so ${user} does not see ${unmounted.path} in this session; the rest of the files work as usual.`,
            fix: problem.fix(unmounted.hostDir),
            at: line.at,
          },
          [line.seq],
        );
        return;
      }
      const failed = eventOf(line, 'login-failed');
      if (failed && failed.reason !== 'tls-required') {
        const evidence = userSeq === null ? [line.seq] : [userSeq, line.seq];
        out.report({ ...explainFailure(failed.reason, failed.username, facts.clientIp), at: line.at }, evidence);
        if (failed.reason !== 'unknown-user' && failed.reason !== 'bad-password') return;
        guesses.push({ seq: line.seq, username: failed.username });
        if (guesses.length < GUESSING_THRESHOLD) return;
        const names = [...new Set(guesses.map((g) => g.username))];
        const pattern =
          names.length > 1
            ? `${guesses.length} failed logins with ${names.length} different user names (${formatList(names.map((n) => `"${n}"`))}) came from ${facts.clientIp} in one session: this looks like someone trying out accounts.`
            : `${guesses.length} failed logins for "${names[0] ?? ''}" came from ${facts.clientIp} in one session: either a client retrying a saved wrong password, or someone guessing it.`;
        out.report(
          {
            code: LOGIN_GUESSING,
            severity: 'warning',
            title: `Repeated failed logins from ${facts.clientIp}`,
            explanation: pattern,
            fix: `If you do not recognise ${facts.clientIp}, ban it on the Bans page (repeat offenders are also banned automatically). If it is one of your users, fix the password saved in their client.`,
            at: line.at,
          },
          guesses.map((g) => g.seq),
        );
        return;
      }
    },
  };
}
