/**
 * The recorder thread (started by RecorderThread, recorder-thread.ts): a session recorder on a connection of its
 * own that writes every batch the main thread posts, in one transaction, as soon as it arrives, and answers with
 * what became of its items.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { closeDb, openDb } from './client.js';
import { createSessionRecorder } from './recorder.js';
import { pruneHistory } from './retention.js';
import type { FromRecorderThread, RecorderThreadData, ToRecorderThread } from './recorder-thread.js';

const port = parentPort;
if (!port) throw new Error('recorder-worker.js runs in a worker thread');
const { file, node } = workerData as RecorderThreadData;
const post = (message: FromRecorderThread) => port.postMessage(message);
const db = openDb(file);
let events = false;
/** Prunes running (SessionRecorder.prune), and what stops them when the thread is closed. */
const pruning = new Set<Promise<void>>();
const stopPruning = new AbortController();
const recorder = createSessionRecorder(db, {
  node,
  // Written when a batch arrives, never by size or timer: the main thread has batched already and bounds the backlog.
  maxBatch: Number.MAX_SAFE_INTEGER,
  maxQueued: Number.MAX_SAFE_INTEGER,
  flushIntervalMs: 2 ** 31 - 1,
  onEvents: () => void (events = true),
  onError: (error) => post({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
});

port.on('message', (message: ToRecorderThread) => {
  if (message.type === 'close') {
    // A prune stops after its current transaction and answers with what it deleted; then the connection closes.
    stopPruning.abort();
    void Promise.all(pruning).then(() => {
      closeDb(db); // closes the recorder too
      post({ type: 'closed', id: message.id });
    });
    return;
  }
  if (message.type === 'prune') {
    // Its transactions take turns with the batches (the event loop turns between two of them).
    const { id } = message;
    const run = pruneHistory(db, { ...message.opts, signal: stopPruning.signal }).then(
      (result) => post({ type: 'pruned', id, result }),
      (error: unknown) => post({ type: 'prune-failed', id, message: error instanceof Error ? error.message : String(error) }),
    );
    pruning.add(run);
    void run.finally(() => pruning.delete(run));
    return;
  }
  const before = recorder.stats();
  for (const item of message.items) recorder.item(item);
  void recorder.flush(); // SQLite: written when it returns
  const after = recorder.stats();
  post({
    type: 'written',
    id: message.id,
    written: after.written - before.written,
    dropped: after.dropped - before.dropped,
    failingSince: after.failingSince,
    events,
  });
  events = false;
});
