// pure-ftpd (Debian package) with one virtual user in its own PureDB, mapped onto the bench system account.
// Its password hash is the system account's crypt() hash (what vsftpd checks through PAM), not pure-pw's
// default: pure-pw calibrates argon2id to several seconds (t=511 here, about 2.5 s of CPU per login),
// which would make every session-count workload measure password hashing alone.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, run, spawnServer, waitForPort } from '../lib/spawn.mjs';

export const PURE_USER = 'benchuser';

export async function startPureFtpd({ dir, root, account, pasv, cert, binaries }) {
  const port = await freePort();
  const passwd = join(dir, 'pureftpd.passwd');
  const pdb = join(dir, 'pureftpd.pdb');
  // pure-pw's line format: user:hash:uid:gid:gecos:home/./ followed by the (empty) limit fields
  writeFileSync(passwd, `${PURE_USER}:${account.passwordHash}:${account.uid}:${account.gid}::${root}/./::::::::::::\n`, { mode: 0o600 });
  run(binaries.pw, ['mkdb', pdb, '-f', passwd]);
  const args = [
    '-S',
    `127.0.0.1,${port}`,
    '-l',
    `puredb:${pdb}`,
    '-E', // no anonymous
    '-H', // don't resolve client names
    '-4',
    '-p',
    `${pasv.min}:${pasv.max}`,
    '-c',
    '4000', // max clients (default 50)
    '-C',
    '4000', // max clients per address
    '-I',
    '60', // idle minutes
    '-L',
    '100000:10', // LIST limits: files, depth (default 10000:5 would cut the 10,000-entry folder short)
    '-Y',
    '1', // TLS optional
    '-2',
    `${cert.certFile},${cert.keyFile}`,
  ];
  const child = spawnServer(binaries.server, args, { logFile: join(dir, 'server.log') });
  await waitForPort(port, { child });
  return { name: 'pure-ftpd', port, child, user: PURE_USER, supports: { mlsd: true, ftps: true } };
}
