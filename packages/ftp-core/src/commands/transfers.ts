/** The pipelines behind RETR, STOR/APPE/STOU and the listings, built on runTransfer. */
import type { Socket } from 'node:net';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FtpError } from '../errors.js';
import { Reply } from '../reply.js';
import type { AuthenticatedSession, Session } from '../session/session.js';
import { fromNetworkAscii, toNetworkAscii } from '../transfer/ascii.js';
import { meter, tally } from '../transfer/count.js';
import { quotaGuard, type QuotaClaim } from '../transfer/quota.js';
import { receiveFile } from '../transfer/receive-file.js';
import { runTransfer } from '../transfer/run-transfer.js';
import { sendFile } from '../transfer/send-file.js';
import { throttle } from '../transfer/throttle.js';
import type { UploadMode } from '../vfs/upload.js';

function modeName(session: Session): string {
  return session.transferType === 'A' ? 'ASCII' : 'BINARY';
}

export async function download(session: AuthenticatedSession, raw: string): Promise<void> {
  const fs = session.fs;
  const path = fs.resolve(session.cwd, raw);
  const offset = session.takeRestartOffset();
  const file = await fs.openRead(path, offset);
  const rate = session.account?.downloadBytesPerSecond ?? null;
  await runTransfer(session, {
    direction: 'download',
    path,
    offset,
    size: file.remaining, // what this transfer moves: the rest of the file after the REST offset
    announce: `Opening ${modeName(session)} mode data connection for ${path} (${file.remaining} bytes)`,
    move: async (data, signal, count) => {
      const stages: Transform[] = [];
      if (session.transferType === 'A') stages.push(toNetworkAscii());
      if (rate) stages.push(throttle(rate));
      if (stages.length > 0) return pipeline([file.stream, ...stages, meter(count), data], { signal });
      return sendFile(file.source, { start: offset, length: file.remaining }, data, signal, count);
    },
    rollback: () => file.close(),
  });
}

/** STOR (replace or, after REST, resume), APPE (append) and STOU (a fresh name). */
export async function upload(session: AuthenticatedSession, path: string, mode: UploadMode, announce?: string): Promise<void> {
  const fs = session.fs;
  const announced = session.takeAllocation(); // the size an ALLO gave, else unknown
  const offset = mode === 'append' ? 0 : session.takeRestartOffset();
  const effective: UploadMode = mode === 'replace' && offset > 0 ? 'resume' : mode;
  const account = session.account;
  // The home's files count against the account's quota, a mounted folder's against the folder's (shared by its users).
  const area = fs.areaOf(path);
  if (await session.ctx.disk.belowReserve(area.root)) {
    const mib = Math.round(session.ctx.disk.reserveBytes / 1048576);
    session.event({ type: 'disk-full', path }, `Upload of ${path} refused: less than ${mib} MiB free on the server's disk`);
    throw new FtpError(Reply.InsufficientStorage, `Insufficient storage space on the server (it keeps ${mib} MiB free); try again later`);
  }
  // The quota is claimed before any byte is written (a new file counts from its start) and settled when the upload
  // commits, so parallel uploads share it. A replace opens only its hidden temporary file, which also tells whether
  // the target exists, so it claims right after the open; the other modes open the target itself and claim first.
  const quota = area.quotaBytes !== null || area.quotaFiles !== null;
  const claimQuota = async (isNew: boolean): Promise<QuotaClaim> => {
    const claimed = await session.ctx.usage.claim(area.root, { bytes: area.quotaBytes, files: area.quotaFiles }, isNew);
    if (claimed !== null) return claimed;
    const whose = area.folder === null ? '' : ` of the folder ${area.folder}`;
    session.event(
      { type: 'quota-exceeded', path, quotaBytes: area.quotaBytes, quotaFiles: area.quotaFiles },
      `Upload of ${path} refused: file quota${whose} reached`,
    );
    throw new FtpError(Reply.ExceededStorage, `${path}: File quota${whose} exceeded (${area.quotaFiles} files)`);
  };
  let claim: QuotaClaim | null = null;
  if (quota && effective !== 'replace') {
    const isNew = await fs.stat(path).then(
      () => false,
      () => true,
    );
    claim = await claimQuota(isNew);
  }
  const up = await fs.openWrite(path, effective, offset).catch((err: unknown) => {
    claim?.drop();
    throw err;
  });
  if (quota && effective === 'replace') {
    claim = await claimQuota(up.existingSize === null).catch(async (err: unknown) => {
      await up.abort({ truncate: true }); // removes the temporary file; the target was not touched
      throw err;
    });
  }
  // A replaced file frees its old size; a resumed one keeps what lies before the offset.
  const freed = effective === 'replace' ? (up.existingSize ?? 0) : effective === 'resume' ? (up.existingSize ?? 0) - offset : 0;
  const rate = account?.uploadBytesPerSecond ?? null;
  const before = up.existingSize ?? 0;
  let written = 0;
  await runTransfer(session, {
    direction: 'upload',
    path,
    offset,
    size: announced,

    announce: announce ?? `Opening ${modeName(session)} mode data connection for ${path}`,
    move: async (data, signal, count) => {
      const ascii = session.transferType === 'A';
      const stages: Transform[] = [];
      if (ascii) stages.push(fromNetworkAscii());
      if (claim && area.quotaBytes !== null) stages.push(quotaGuard(claim, freed, path));
      if (rate) stages.push(throttle(rate));
      // In binary mode the bytes written to disk are the bytes received.
      const onWire = ascii ? count : (n: number) => void (count(n), (written += n));
      if (stages.length === 0) {
        const received = receiveFile(data as Socket, up.stream, { timeoutMs: session.settings.idleTimeoutMs, signal, count: onWire });
        if (received) return received;
      }
      if (ascii) stages.push(meter((n) => (written += n)));
      const moved = stages.length > 0 ? pipeline([data, ...stages, up.stream], { signal }) : pipeline(data, up.stream, { signal });
      tally(data, onWire);
      await moved;
    },
    commit: async () => {
      let replaced: number | null;
      try {
        replaced = await up.commit();
      } catch (err) {
        claim?.drop();
        throw err;
      }
      // A replace settles against what its rename replaced, not what was there at the open: a file deleted (DELE
      // subtracted it) or replaced by another upload meanwhile must not be subtracted twice.
      const was = effective === 'replace' ? (replaced ?? 0) : before;
      const after = effective === 'append' ? before + written : effective === 'resume' ? offset + written : written;
      const files = (effective === 'replace' ? replaced : up.existingSize) === null ? 1 : 0;
      if (claim) claim.settle(after - was, files);
      else session.ctx.usage.adjust(area.root, after - was, files);
    },
    rollback: async (why) => {
      claim?.drop();
      // An upload the server refused (quota, full disk) leaves nothing; an interrupted APPE or resume keeps
      // what arrived, so the client can resume it.
      await up.abort({ truncate: why === 'refused' });
    },
  });
}

/**
 * Sends the batches of lines produced by `lines` over a data connection (LIST, NLST, MLSD); `completed` is
 * the 226's text when it has more to say than "Transfer complete".
 */
export async function listing(
  session: Session,
  path: string,
  lines: AsyncIterable<string[]>,
  opts: { completed?: string | undefined } = {},
): Promise<void> {
  await runTransfer(session, {
    direction: 'listing',
    path,
    offset: 0,
    size: null,
    announce: `Opening ${modeName(session)} mode data connection for the listing of ${path}`,
    completed: opts.completed,
    move: async (data, signal, count) => {
      const source = Readable.from(crlf(lines), { objectMode: false });
      const moved = pipeline(source, data, { signal });
      tally(source, count);
      await moved;
    },
  });
}

/** One buffer per batch of lines. */
async function* crlf(batches: AsyncIterable<string[]>): AsyncIterable<Buffer> {
  for await (const batch of batches) if (batch.length > 0) yield Buffer.from(`${batch.join('\r\n')}\r\n`, 'utf8');
}
