// vsftpd (Debian package) with a generated config: listens on loopback, local user from PAM, no anonymous,
// passive range, explicit FTPS, no per-address or total session limits, Debian's transfer log on.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnServer, waitForPort } from '../lib/spawn.mjs';
import { SYSTEM_USER } from '../lib/system.mjs';

export async function startVsftpd({ dir, root, pasv, cert }) {
  const port = await freePort();
  const empty = join(dir, 'empty');
  mkdirSync(empty, { recursive: true, mode: 0o755 });
  const config = join(dir, 'vsftpd.conf');
  const lines = {
    listen: 'YES',
    listen_ipv6: 'NO',
    listen_address: '127.0.0.1',
    listen_port: port,
    background: 'NO',
    anonymous_enable: 'NO',
    local_enable: 'YES',
    write_enable: 'YES',
    local_umask: '022',
    local_root: root,
    chroot_local_user: 'NO',
    pam_service_name: 'vsftpd',
    userlist_enable: 'NO',
    seccomp_sandbox: 'NO', // no seccomp filters inside containers
    isolate: 'NO',
    isolate_network: 'NO',
    secure_chroot_dir: empty,
    max_clients: 0,
    max_per_ip: 0,
    idle_session_timeout: 3600,
    data_connection_timeout: 600,
    connect_from_port_20: 'NO',
    pasv_enable: 'YES',
    pasv_min_port: pasv.min,
    pasv_max_port: pasv.max,
    xferlog_enable: 'YES',
    vsftpd_log_file: join(dir, 'vsftpd.log'),
    xferlog_file: join(dir, 'xferlog'),
    ssl_enable: 'YES',
    rsa_cert_file: cert.certFile,
    rsa_private_key_file: cert.keyFile,
    allow_anon_ssl: 'NO',
    force_local_data_ssl: 'NO',
    force_local_logins_ssl: 'NO',
    require_ssl_reuse: 'NO',
    ssl_ciphers: 'HIGH',
  };
  writeFileSync(
    config,
    Object.entries(lines)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
    { mode: 0o600 },
  );
  const child = spawnServer('/usr/sbin/vsftpd', [config], { logFile: join(dir, 'server.log') });
  await waitForPort(port, { child });
  return { name: 'vsftpd', port, child, user: SYSTEM_USER, supports: { mlsd: false, ftps: true } };
}
