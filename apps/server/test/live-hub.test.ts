/**
 * The live hub on its own, fed by a stand-in engine: transcript messages carry the line's severity, and progress
 * messages carry the session counters with the running transfer's bytes and its rate.
 */
import { EventEmitter } from 'node:events';
import type { LiveMessage } from '@ferry/contract';
import type { FtpServer, SessionSnapshot, TranscriptLine } from '@ferry/ftp-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LiveHub, type LiveSocket } from '../src/adapters/live-hub.js';

class FakeEngine extends EventEmitter {
  snapshots: SessionSnapshot[] = [];
  sessions(): SessionSnapshot[] {
    return this.snapshots;
  }
  session(id: string): SessionSnapshot | undefined {
    return this.snapshots.find((s) => s.id === id);
  }
}

function socket(): LiveSocket & { messages: LiveMessage[] } {
  const messages: LiveMessage[] = [];
  return {
    messages,
    readyState: 1,
    bufferedAmount: 0,
    send: (data: string) => void messages.push(JSON.parse(data) as LiveMessage),
    terminate: () => undefined,
    on: () => undefined,
  };
}

function hub(engine: FakeEngine, progressIntervalMs = 1000): LiveHub {
  const h = new LiveHub(engine as unknown as FtpServer, { progressIntervalMs });
  onTestFinished(() => h.close());
  return h;
}

const line = (seq: number, kind: TranscriptLine['kind'], text: string, event?: TranscriptLine['event']): TranscriptLine =>
  ({ sessionId: 's1', seq, at: 0, kind, text, ...(event ? { event } : {}) }) as TranscriptLine;

const snapshot = (bytes: number): SessionSnapshot => ({
  id: 's1',
  remoteAddress: '127.0.0.1',
  remotePort: 50000,
  localAddress: '127.0.0.1',
  localPort: 21,
  startedAt: Date.now() - 5000,
  tls: false,
  username: 'alice',
  clientSoftware: null,
  state: 'transferring',
  lastCommandAt: Date.now(),
  bytesIn: 0,
  bytesOut: 145 + bytes,
  filesIn: 0,
  filesOut: 0,
  transfer: { direction: 'download', path: '/big.bin', bytes, startedAt: Date.now() - 1000, size: 4 * 1024 * 1024 },
});

describe('live hub', () => {
  it('marks transcript lines with their severity, as the stored transcript does', () => {
    const engine = new FakeEngine();
    const client = socket();
    hub(engine).attach(client);
    engine.emit('transcript', line(1, 'reply', '530 Login incorrect'));
    engine.emit('transcript', line(2, 'reply', '425 Cannot open data connection'));
    engine.emit('transcript', line(3, 'reply', '230 Logged in'));
    engine.emit('transcript', line(4, 'event', 'Download failed', { type: 'transfer-finished', outcome: 'failed' } as never));
    const lines = client.messages.flatMap((m) => (m.type === 'transcript' ? [[m.line.seq, m.line.severity ?? null]] : []));
    expect(lines).toEqual([
      [1, 'error'],
      [2, 'warning'],
      [3, null],
      [4, 'error'],
    ]);
  });

  it("sends progress with the running transfer's bytes in the session counters and its measured rate", async () => {
    const engine = new FakeEngine();
    const client = socket();
    hub(engine, 50).attach(client);
    engine.snapshots = [snapshot(100_000)];
    await new Promise((resolve) => setTimeout(resolve, 80));
    engine.snapshots = [snapshot(600_000)];
    await new Promise((resolve) => setTimeout(resolve, 80));
    const progress = client.messages.flatMap((m) => (m.type === 'progress' ? m.sessions : []));
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const last = progress.at(-1)!;
    expect(last.bytesOut).toBe(145 + 600_000);
    expect(last.transfer).toMatchObject({ bytes: 600_000, size: 4 * 1024 * 1024 });
    expect(last.transfer!.bytesPerSecond).toBeGreaterThan(0);
  });
});
