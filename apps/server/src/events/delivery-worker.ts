/**
 * The delivery worker's thread: the EventDispatcher with its own connection to the database, so that sending
 * events (HTTP, SMTP, programs) and recording their attempts never take time from the FTP sessions' event
 * loop. It is told to look for due deliveries, to reload the rules, and to wait for attempts; it reports
 * every attempt back (metrics and the log). Started by DeliveryWorker (worker-client.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { closeDatabase, createEventStore, openDb, openPostgres } from '@ferry/db';
import { EventDispatcher } from './dispatcher.js';
import { Mailer } from './email.js';
import type { RuleDefinition } from './matching.js';
import type { AttemptReport, FromWorker, ToWorker, WorkerSettings } from './worker-client.js';

const port = parentPort;
if (!port) throw new Error('delivery-worker.js runs in a worker thread');
const settings = workerData as WorkerSettings;
const db = 'url' in settings.database ? await openPostgres(settings.database.url) : openDb(settings.database.file);
const store = createEventStore(db);
let rules = new Map<number, RuleDefinition>();
const loadRules = async () => void (rules = new Map((await store.rulesWithSecrets()).map((r) => [r.id, r])));
await loadRules();
const mailer = new Mailer(settings.smtp);
const post = (message: FromWorker) => port.postMessage(message);
/** Attempts are reported in one message per turn of the event loop, not one each. */
let reports: AttemptReport[] = [];
const sendReports = () => {
  const list = reports;
  reports = [];
  post({ type: 'attempts', list });
};
const dispatcher = new EventDispatcher({
  store,
  rule: (id) => rules.get(id),
  mailer,
  userAgent: settings.userAgent,
  retry: settings.retry,
  commands: settings.commands,
  node: settings.node,
  onAttempt: (kind, outcome, d, attempt) => {
    if (reports.length === 0) setImmediate(sendReports);
    reports.push({ kind, outcome, deliveryId: d.id, eventId: d.event.id, ruleName: d.ruleName, target: d.target, error: attempt.error });
  },
  onError: (error) => post({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
});

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'wake':
      return dispatcher.wake();
    case 'reload':
      return void loadRules()
        .then(() => dispatcher.dropQueued())
        .catch((error: unknown) => post({ type: 'error', message: String(error) }));
    case 'attempted':
      return void dispatcher
        .attempted(message.ids, message.timeoutMs)
        .then(() => post({ type: 'attempted', requestId: message.requestId }));
    case 'close':
      return void dispatcher
        .close()
        .finally(async () => {
          mailer.close();
          await closeDatabase(db);
        })
        .then(() => post({ type: 'closed' }));
  }
});
dispatcher.wake();
