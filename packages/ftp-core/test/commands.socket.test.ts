import { mkdir, readFile, stat, symlink, writeFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loggedInEachTest, RawClient, readData } from './support/raw-client.js';
import { startServer, type TestServer } from './support/server.js';

let t: TestServer;
let c: RawClient;

beforeAll(async () => {
  t = await startServer();
});
afterAll(async () => t.close());
loggedInEachTest(
  () => t,
  (client) => (c = client),
);

async function pasvData(): Promise<{ data: Promise<Buffer> }> {
  const { port } = await c.pasv();
  const { data } = await readData(port);
  return { data };
}

/** Sends a transfer command over a fresh passive connection: the 150, the data, the final reply. */
async function listOver(command: string): Promise<{ first: number; data: string; last: number }> {
  const { data } = await pasvData();
  const first = await c.send(command);
  const body = (await data).toString('utf8');
  const last = await c.read();
  return { first: first.code, data: body, last: last.code };
}

describe('login and session commands', () => {
  it('greets with 220, rejects commands before login with 530, and logs in', async () => {
    const raw = await RawClient.connect(t.port);
    expect((await raw.read()).code).toBe(220);
    expect((await raw.send('PWD')).code).toBe(530);
    expect((await raw.send('PASS secret')).code).toBe(503);
    expect((await raw.send('USER alice')).code).toBe(331);
    expect((await raw.send('PASS wrong')).code).toBe(530);
    expect((await raw.send('USER nobody')).code).toBe(331);
    expect((await raw.send('PASS secret')).code).toBe(530);
    expect((await raw.send('USER alice')).code).toBe(331);
    expect((await raw.send('PASS secret')).code).toBe(230);
    expect((await raw.send('USER alice')).code).toBe(503);
    expect((await raw.send('QUIT')).code).toBe(221);
    await raw.waitClosed();
  });

  it('masks PASS in the transcript', () => {
    const commands = t.transcript.filter((l) => l.kind === 'command').map((l) => l.text);
    expect(commands).toContain('PASS ****');
    expect(commands.some((l) => l.includes('secret'))).toBe(false);
  });

  it('answers SYST, NOOP, FEAT, HELP, CLNT, HOST, STAT, OPTS', async () => {
    expect((await c.send('SYST')).text).toBe('215 UNIX Type: L8');
    expect((await c.send('NOOP')).code).toBe(200);
    const feat = await c.send('FEAT');
    expect(feat.code).toBe(211);
    expect(feat.lines[1]).toBe(' EPSV');
    for (const f of [' SIZE', ' MDTM', ' REST STREAM', ' UTF8', ' MFMT', ' EPRT', ' CLNT', ' HOST']) expect(feat.lines).toContain(f);
    expect(feat.lines.some((l) => l.startsWith(' MLST type*;size*;modify*;perm*;unique*;UNIX.mode*;'))).toBe(true);
    const help = await c.send('HELP');
    expect(help.code).toBe(214);
    expect(help.text).toContain('XMKD');
    expect((await c.send('HELP RETR')).code).toBe(214);
    expect((await c.send('HELP BOGUS')).code).toBe(502);
    expect((await c.send('CLNT test-client 1.0')).code).toBe(200);
    expect(t.server.sessions().some((s) => s.clientSoftware === 'test-client 1.0')).toBe(true);
    expect((await c.send('HOST example.com')).code).toBe(503);
    const st = await c.send('STAT');
    expect(st.code).toBe(211);
    expect(st.text).toContain('Logged in as alice');
    expect((await c.send('OPTS UTF8 ON')).code).toBe(200);
    expect((await c.send('OPTS MLST type;size;')).text).toBe('200 MLST OPTS type;size;');
    expect((await c.send('OPTS BOGUS')).code).toBe(501);
  });

  it('answers HOST before login and REIN resets the login', async () => {
    const raw = await RawClient.connect(t.port);
    await raw.read();
    expect((await raw.send('HOST ftp.example.com')).code).toBe(220);
    raw.close();
    expect((await c.send('REIN')).code).toBe(220);
    expect((await c.send('PWD')).code).toBe(530);
  });

  it('handles TYPE, STRU, MODE, ALLO and unknown commands', async () => {
    expect((await c.send('TYPE I')).code).toBe(200);
    expect((await c.send('TYPE A')).code).toBe(200);
    expect((await c.send('TYPE L 8')).code).toBe(200);
    expect((await c.send('TYPE E')).code).toBe(504);
    expect((await c.send('TYPE Q')).code).toBe(501);
    expect((await c.send('STRU F')).code).toBe(200);
    expect((await c.send('STRU R')).code).toBe(504);
    expect((await c.send('MODE S')).code).toBe(200);
    expect((await c.send('MODE B')).code).toBe(504);
    expect((await c.send('ALLO 1000')).code).toBe(202);
    expect((await c.send('XYZZ')).code).toBe(502);
    expect((await c.send('CWD')).code).toBe(501);
    expect((await c.send('REST abc')).code).toBe(501);
  });
});

describe('directories', () => {
  it('PWD, MKD, CWD, CDUP and the X aliases', async () => {
    expect((await c.send('PWD')).text).toBe('257 "/" is the current directory');
    expect((await c.send('MKD a')).text).toBe('257 "/a" created');
    expect((await c.send('XMKD /a/"q"')).text).toBe('257 "/a/""q""" created');
    expect((await c.send('MKD a')).code).toBe(550);
    expect((await c.send('CWD a')).code).toBe(250);
    expect((await c.send('XPWD')).text).toBe('257 "/a" is the current directory');
    expect((await c.send('CDUP')).code).toBe(250);
    expect((await c.send('XCWD /a')).code).toBe(250);
    expect((await c.send('XCUP')).code).toBe(250);
    expect((await c.send('CDUP')).code).toBe(250);
    expect((await c.send('PWD')).text).toContain('"/"');
    expect((await c.send('CWD nowhere')).code).toBe(550);
    expect((await c.send('XRMD /a/"q"')).code).toBe(250);
    expect((await c.send('RMD a')).code).toBe(250);
    expect((await c.send('RMD a')).code).toBe(550);
  });

  it('RMD refuses a non-empty directory and DELE refuses a directory', async () => {
    await mkdir(join(t.home, 'full'), { recursive: true });
    await writeFile(join(t.home, 'full', 'x'), 'x');
    expect((await c.send('RMD full')).code).toBe(550);
    expect((await c.send('DELE full')).code).toBe(550);
    expect((await c.send('DELE full/x')).code).toBe(250);
    expect((await c.send('DELE full/x')).code).toBe(550);
  });
});

describe('file commands', () => {
  beforeEach(async () => {
    await writeFile(join(t.home, 'f.txt'), 'hello\n');
    const when = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
    await utimes(join(t.home, 'f.txt'), when, when);
  });

  it('SIZE, MDTM, MFMT, MDTM-set and SITE CHMOD', async () => {
    expect((await c.send('SIZE f.txt')).text).toBe('213 6');
    expect((await c.send('SIZE /')).code).toBe(550);
    expect((await c.send('SIZE missing')).code).toBe(550);
    expect((await c.send('MDTM f.txt')).text).toBe('213 20200102030405');
    expect((await c.send('MFMT 20210304050607 f.txt')).text).toBe('213 Modify=20210304050607; /f.txt');
    expect((await stat(join(t.home, 'f.txt'))).mtime.toISOString()).toBe('2021-03-04T05:06:07.000Z');
    expect((await c.send('MDTM 20220101000000 f.txt')).code).toBe(213);
    expect((await c.send('MDTM f.txt')).text).toBe('213 20220101000000');
    expect((await c.send('MFMT notatime f.txt')).code).toBe(501);
    expect((await c.send('SITE CHMOD 600 f.txt')).code).toBe(200);
    expect((await stat(join(t.home, 'f.txt'))).mode & 0o777).toBe(0o600);
    expect((await c.send('SITE HELP')).code).toBe(214);
    expect((await c.send('SITE BOGUS')).code).toBe(504);
  });

  it('RNFR/RNTO renames, and RNTO without RNFR is a bad sequence', async () => {
    expect((await c.send('RNTO g.txt')).code).toBe(503);
    expect((await c.send('RNFR missing')).code).toBe(550);
    expect((await c.send('RNFR f.txt')).code).toBe(350);
    expect((await c.send('RNTO g.txt')).code).toBe(250);
    expect(await readFile(join(t.home, 'g.txt'), 'utf8')).toBe('hello\n');
    expect((await c.send('RNFR g.txt')).code).toBe(350);
    expect((await c.send('NOOP')).code).toBe(200);
    expect((await c.send('RNTO h.txt')).code).toBe(503);
  });

  it('MLST shows facts over the control connection', async () => {
    const r = await c.send('MLST f.txt');
    expect(r.code).toBe(250);
    expect(r.lines[1]).toMatch(
      /^ type=file;size=6;modify=20200102030405;perm=adfrw;unique=[0-9a-f]+g[0-9a-f]+;UNIX\.mode=0[0-7]{3}; \/f\.txt$/,
    );
  });

  it('STAT <path> lists over the control connection', async () => {
    const r = await c.send('STAT /');
    expect(r.code).toBe(213);
    expect(r.text).toMatch(/-rw-r--r-- +1 ftp +ftp +6 Jan {2}2 {2}2020 f\.txt/);
  });
});

describe('listings over passive data connections', () => {
  beforeEach(async () => {
    await mkdir(join(t.home, 'l', 'sub'), { recursive: true });
    await writeFile(join(t.home, 'l', 'one.txt'), '1');
  });

  it('LIST (with -la), NLST and MLSD', async () => {
    const list = await listOver('LIST -la l');
    expect([list.first, list.last]).toEqual([150, 226]);
    expect(list.data.split('\r\n').filter(Boolean).sort()).toEqual([
      expect.stringMatching(/^-rw-r--r-- +1 ftp +ftp +1 \w{3} [ \d]\d \d\d:\d\d one\.txt$/),
      expect.stringMatching(/^drwxr-xr-x +2 ftp +ftp +4096 .* sub$/),
    ]);
    const nlst = await listOver('NLST l');
    expect(nlst.data.split('\r\n').filter(Boolean).sort()).toEqual(['one.txt', 'sub']);
    const mlsd = await listOver('MLSD l');
    expect(mlsd.data).toMatch(/type=dir;modify=\d{14};perm=cdeflmp;unique=\w+;UNIX\.mode=0755; sub\r\n/);
    expect(mlsd.data).toMatch(/type=file;size=1;modify=\d{14};perm=adfrw;unique=\w+;UNIX\.mode=0644; one\.txt\r\n/);
    expect((await c.send('MLSD l/one.txt')).code).toBe(550);
  });

  it('refuses a listing of a missing directory before opening the data connection', async () => {
    await c.pasv();
    expect((await c.send('LIST missing')).code).toBe(550);
  });

  it('says 425 when no data connection was prepared', async () => {
    expect((await c.send('LIST')).code).toBe(425);
    expect((await c.send('RETR missing.txt')).code).toBe(550);
  });

  it('EPSV works, EPSV ALL then refuses PASV and PORT', async () => {
    const port = await c.epsv();
    const { data } = await readData(port);
    expect((await c.send('NLST l')).code).toBe(150);
    expect((await data).toString()).toContain('one.txt');
    expect((await c.read()).code).toBe(226);
    expect((await c.send('EPSV 2')).code).toBe(522);
    expect((await c.send('EPSV ALL')).code).toBe(200);
    expect((await c.send('PASV')).code).toBe(503);
    expect((await c.send('PORT 127,0,0,1,200,10')).code).toBe(503);
  });
});

describe('path containment', () => {
  it('refuses .. above the root, and symlinks that point outside it', async () => {
    await symlink('/etc', join(t.home, 'etc-link'));
    await symlink('/etc/passwd', join(t.home, 'passwd-link'));
    expect((await c.send('CWD ..')).code).toBe(550);
    expect((await c.send('CWD /../..')).code).toBe(550);
    expect((await c.send('SIZE ../../etc/passwd')).code).toBe(550);
    expect((await c.send('CWD etc-link')).code).toBe(550);
    expect((await c.send('SIZE passwd-link')).code).toBe(550);
    expect((await c.send('SIZE /etc-link/passwd')).code).toBe(550);
    expect((await c.send('MKD etc-link/x')).code).toBe(550);
    expect((await c.send('RETR passwd-link')).code).toBe(550);
    const list = await listOver('NLST /');
    expect(list.data).not.toContain('passwd-link');
    expect(list.data).not.toContain('etc-link');
    expect((await c.send('PWD')).text).toContain('"/"');
  });
});
