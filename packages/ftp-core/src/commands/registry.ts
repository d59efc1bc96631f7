/**
 * The command table. Every command module is imported by name here (no directory scanning), and a
 * verb declared twice fails at startup.
 */
import type { Command, CommandRegistry } from './define.js';
import abor from './abor.js';
import allo from './allo.js';
import appe from './appe.js';
import auth from './auth.js';
import ccc from './ccc.js';
import cdup from './cdup.js';
import clnt from './clnt.js';
import cwd from './cwd.js';
import dele from './dele.js';
import eprt from './eprt.js';
import epsv from './epsv.js';
import feat from './feat.js';
import hash from './hash.js';
import help from './help.js';
import host from './host.js';
import list from './list.js';
import mdtm from './mdtm.js';
import mfmt from './mfmt.js';
import mkd from './mkd.js';
import mlsd from './mlsd.js';
import mlst from './mlst.js';
import mode from './mode.js';
import nlst from './nlst.js';
import noop from './noop.js';
import opts from './opts.js';
import pass from './pass.js';
import pasv from './pasv.js';
import pbsz from './pbsz.js';
import port from './port.js';
import prot from './prot.js';
import pwd from './pwd.js';
import quit from './quit.js';
import rein from './rein.js';
import rest from './rest.js';
import retr from './retr.js';
import rmd from './rmd.js';
import rnfr from './rnfr.js';
import rnto from './rnto.js';
import site from './site.js';
import size from './size.js';
import stat from './stat.js';
import stor from './stor.js';
import stou from './stou.js';
import stru from './stru.js';
import syst from './syst.js';
import type from './type.js';
import user from './user.js';
import xcrc from './xcrc.js';
import xmd5 from './xmd5.js';
import xsha1 from './xsha1.js';
import xsha256 from './xsha256.js';

export const ALL_COMMANDS: readonly Command[] = [
  abor,
  allo,
  appe,
  auth,
  ccc,
  cdup,
  clnt,
  cwd,
  dele,
  eprt,
  epsv,
  feat,
  hash,
  help,
  host,
  list,
  mdtm,
  mfmt,
  mkd,
  mlsd,
  mlst,
  mode,
  nlst,
  noop,
  opts,
  pass,
  pasv,
  pbsz,
  port,
  prot,
  pwd,
  quit,
  rein,
  rest,
  retr,
  rmd,
  rnfr,
  rnto,
  site,
  size,
  stat,
  stor,
  stou,
  stru,
  syst,
  type,
  user,
  xcrc,
  xmd5,
  xsha1,
  xsha256,
];

export function createRegistry(commands: readonly Command[] = ALL_COMMANDS): CommandRegistry {
  const byVerb = new Map<string, Command>();
  for (const command of commands) {
    for (const verb of command.verbs) {
      const key = verb.toUpperCase();
      if (byVerb.has(key)) throw new Error(`FTP command ${key} is declared twice`);
      byVerb.set(key, command);
    }
  }
  return {
    get: (verb) => byVerb.get(verb.toUpperCase()),
    all: () => commands,
  };
}
