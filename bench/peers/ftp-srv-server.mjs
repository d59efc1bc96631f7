// Launcher for ftp-srv (npm), run as its own process by the benchmark: one fixed user, a passive range,
// explicit FTPS with the run's certificate, the default bunyan logger (as shipped).
// Usage: node ftp-srv-server.mjs <json options>
import { readFileSync } from 'node:fs';
import { FtpSrv } from 'ftp-srv';

const opts = JSON.parse(process.argv[2] ?? '{}');
const server = new FtpSrv({
  url: `ftp://127.0.0.1:${opts.port}`,
  pasv_url: '127.0.0.1',
  pasv_min: opts.pasv.min,
  pasv_max: opts.pasv.max,
  anonymous: false,
  greeting: 'ftp-srv ready',
  tls: opts.cert ? { key: readFileSync(opts.cert.keyFile), cert: readFileSync(opts.cert.certFile) } : false,
});

server.on('login', ({ username, password }, resolve, reject) => {
  if (username === opts.user && password === opts.password) resolve({ root: opts.root });
  else reject(new Error('Bad username or password'));
});

await server.listen();
console.log(`ftp-srv listening on 127.0.0.1:${opts.port}`);
