// Things the C peers need from the machine: their Debian packages, a system account for the FTP user
// (vsftpd logs in through PAM; pure-ftpd maps its virtual user onto it), and a self-signed certificate.
// Everything here is recorded so that cleanup removes exactly what this run added.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasCommand, run } from './spawn.mjs';

export const SYSTEM_USER = 'ferrybench';
const isRoot = process.getuid?.() === 0;
let userInUse = false;

/** apt-get installs the missing Debian packages when running as root; returns the ones still missing. */
export function ensurePackages(wanted, log) {
  const missing = wanted.filter((p) => !hasCommand(p.binary));
  if (missing.length === 0) return [];
  if (!isRoot || !hasCommand('apt-get')) return missing.map((p) => p.name);
  const names = missing.map((p) => p.name);
  try {
    ensureDebianPackage(names.join(' '), log);
  } catch (err) {
    log(`apt-get failed: ${String(err.message).split('\n')[0]}`);
  }
  return missing.filter((p) => !hasCommand(p.binary)).map((p) => p.name);
}

/**
 * pure-ftpd conflicts with vsftpd as Debian packages (both provide ftp-server), so its .deb is downloaded
 * and unpacked under `cacheDir` instead of installed; only its library libsodium23 is installed.
 * Returns { server, pw } binary paths, or null when it cannot be had.
 */
export function ensurePureFtpd(cacheDir, log) {
  const server = join(cacheDir, 'root/usr/sbin/pure-ftpd');
  const pw = join(cacheDir, 'root/usr/bin/pure-pw');
  if (existsSync(server) && existsSync(pw)) return { server, pw };
  if (!isRoot || !hasCommand('apt-get')) return null;
  try {
    mkdirSync(cacheDir, { recursive: true });
    log(`downloading the pure-ftpd .deb into ${cacheDir} (unpacked there, not installed)`);
    run('sh', ['-c', 'apt-get download pure-ftpd >/dev/null 2>&1 || (apt-get update -qq && apt-get download pure-ftpd)'], {
      cwd: cacheDir,
      timeout: 120_000,
    });
    const deb = readdirSync(cacheDir).find((f) => /^pure-ftpd_.*\.deb$/.test(f));
    if (!deb) return null;
    run('dpkg-deb', ['-x', join(cacheDir, deb), join(cacheDir, 'root')]);
    if (!run('ldconfig', ['-p']).includes('libsodium.so.23')) ensureDebianPackage('libsodium23', log);
    return existsSync(server) ? { server, pw } : null;
  } catch (err) {
    log(`pure-ftpd unavailable: ${String(err.message).split('\n')[0]}`);
    return null;
  }
}

function ensureDebianPackage(name, log) {
  log(`installing Debian package ${name}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('sh', ['-c', `apt-get install -y -qq ${name} >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq ${name})`], {
    env,
    timeout: 300_000,
  });
}

/**
 * The system account the C servers run sessions as (home /, shell /bin/sh so that PAM's pam_shells accepts
 * it; vsftpd then moves to local_root). Root only. The name belongs to the benchmark: the account is
 * deleted at the end of the run even if an earlier, interrupted run left it behind.
 * Returns { uid, gid } or null when unavailable.
 */
export function ensureSystemUser(password, log) {
  if (!isRoot) return null;
  let exists = true;
  try {
    run('id', ['-u', SYSTEM_USER]);
  } catch {
    exists = false;
  }
  if (!exists) {
    log(`creating system user ${SYSTEM_USER} (deleted at the end of the run)`);
    run('useradd', ['--system', '--no-create-home', '--home-dir', '/', '--shell', '/bin/sh', SYSTEM_USER]);
  } else {
    run('usermod', ['--home', '/', '--shell', '/bin/sh', SYSTEM_USER]);
  }
  userInUse = true;
  run('chpasswd', [], { input: `${SYSTEM_USER}:${password}\n` });
  const shadow = run('getent', ['shadow', SYSTEM_USER]).split(':')[1];
  return {
    uid: Number(run('id', ['-u', SYSTEM_USER]).trim()),
    gid: Number(run('id', ['-g', SYSTEM_USER]).trim()),
    passwordHash: shadow, // the system's own crypt() hash (yescrypt on Debian 12), reused by pure-ftpd
  };
}

export function removeSystemUser(log) {
  if (!userInUse) return;
  try {
    run('userdel', [SYSTEM_USER]);
    log(`removed system user ${SYSTEM_USER}`);
  } catch (err) {
    log(`could not remove system user ${SYSTEM_USER}: ${String(err.message).split('\n')[0]}`);
  }
  userInUse = false;
}

/** A throw-away self-signed certificate for FTPS (CN=127.0.0.1, valid two days). */
export function makeCertificate(dir) {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  const bundle = join(dir, 'cert-and-key.pem');
  writeFileSync(bundle, run('cat', [certFile, keyFile]), { mode: 0o600 });
  return { certFile, keyFile, bundle };
}
