import { describe, expect, it } from 'vitest';
import { DataChannelError } from '../src/data-channel/data-channel.js';
import { toReply, toTransferReply, VfsError } from '../src/errors.js';

const errno = (code: string, message = `${code}: something at /srv/ferry/files/alice/a.bin`) => Object.assign(new Error(message), { code });

describe('toTransferReply', () => {
  it.each([
    [
      new DataChannelError('timeout', 'No data connection was made'),
      425,
      "Can't open data connection: none was made in time",
      'data-connection',
    ],
    [
      new DataChannelError('connect-failed', 'connect ECONNREFUSED 10.0.0.5:40123'),
      425,
      "Can't open data connection: could not connect to your address",
      'data-connection',
    ],
    [
      new DataChannelError('tls-failed', 'C0B7E1A4:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'),
      425,
      "Can't open data connection: TLS handshake failed",
      'tls-failed',
    ],
    [
      new DataChannelError('tls-not-resumed', 'The data connection did not resume the TLS session', '127.0.0.1:5000'),
      522,
      'Data connection refused: TLS session resumption is required',
      'tls-not-resumed',
    ],
    [new DataChannelError('aborted', 'Closed'), 425, "Can't open data connection", 'data-connection'],
    [errno('ECONNRESET'), 426, 'Data connection closed; transfer aborted', 'connection-closed'],
    [new Error('ERR_STREAM_PREMATURE_CLOSE'), 426, 'Data connection closed; transfer aborted', 'connection-closed'],
    [new VfsError('quota-exceeded', '/up.bin'), 552, '/up.bin: Quota exceeded', 'quota-exceeded'],
    [new VfsError('disk-full', '/up.bin'), 452, '/up.bin: Insufficient storage space', 'disk-full'],
    [errno('ENOSPC'), 452, '/a.bin: Insufficient storage space', 'disk-full'],
    [errno('EDQUOT'), 452, '/a.bin: Insufficient storage space', 'disk-full'],
    // After the 150, a file-system refusal is a local error in processing (451), not the 550 it is before.
    [new VfsError('permission-denied', '/a.bin'), 451, '/a.bin: Permission denied', 'file-system'],
    [new VfsError('busy', '/a.bin'), 451, '/a.bin: File busy, try again', 'file-system'],
    [errno('ENOENT'), 451, '/a.bin: No such file or directory', 'file-system'],
    [new Error('boom at /srv/ferry/files/alice'), 451, 'Local error in processing; transfer failed', 'internal'],
    [null, 451, 'Local error in processing; transfer failed', 'internal'],
  ])('%s → %i %s', (err, code, text, cause) => {
    const failure = toTransferReply(err, '/a.bin');
    expect(failure.reply).toEqual({ code, text });
    expect(failure.cause).toBe(cause);
    expect(failure.reply.text).not.toMatch(/srv|SSL|ECONN|10\.0\.0\.5/);
  });

  it('keeps the detail for the transcript', () => {
    expect(toTransferReply(new DataChannelError('tls-failed', 'wrong version number'), '/a').error).toBe('wrong version number');
    expect(toTransferReply(errno('EPIPE'), '/a').error).toBe('EPIPE');
    expect(toTransferReply(new VfsError('not-found', '/a'), '/a').error).toBe('not-found');
  });

  it('uses the same texts as toReply for file-system errors', () => {
    const err = new VfsError('not-a-directory', '/d');
    expect(toTransferReply(err, '/d').reply.text).toBe(toReply(err)!.text);
    expect(toReply(err)!.code).toBe(550);
  });
});
