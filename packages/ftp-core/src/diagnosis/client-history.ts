/**
 * What the doctor remembers across sessions of one client address: whether each data connection
 * worked, by mode and by protection. It lets a finding say "plain FTP works from here, FTPS does not",
 * the mark of a router's FTP helper. In memory, bounded in clients, entries per client and age.
 */
export type DataPath = 'passive' | 'active';
export type DataCommand = 'PASV' | 'EPSV' | 'PORT' | 'EPRT';

export interface DataOutcome {
  sessionId: string;
  at: number;
  /** Whether the control connection was encrypted (FTPS). */
  tls: boolean;
  command: DataCommand;
  path: DataPath;
  worked: boolean;
  /** The address the client was given (PASV, EPSV) or asked for (PORT/EPRT). */
  address: string;
}

export interface ClientHistoryOptions {
  /** How long an outcome counts (default one hour). */
  windowMs?: number;
  /** Clients remembered; the least recently seen are forgotten first (default 2000). */
  maxClients?: number;
}

const PER_CLIENT = 32;

export class ClientHistory {
  readonly #windowMs: number;
  readonly #maxClients: number;
  readonly #byClient = new Map<string, DataOutcome[]>();

  constructor(opts: ClientHistoryOptions = {}) {
    this.#windowMs = opts.windowMs ?? 60 * 60_000;
    this.#maxClients = opts.maxClients ?? 2000;
  }

  note(clientIp: string, outcome: DataOutcome): void {
    const list = (this.#byClient.get(clientIp) ?? []).filter((o) => outcome.at - o.at < this.#windowMs);
    list.push(outcome);
    if (list.length > PER_CLIENT) list.splice(0, list.length - PER_CLIENT);
    this.#byClient.delete(clientIp); // re-inserted last: the map's order is least recently seen first
    this.#byClient.set(clientIp, list);
    while (this.#byClient.size > this.#maxClients) {
      const oldest = this.#byClient.keys().next().value;
      if (oldest === undefined) break;
      this.#byClient.delete(oldest);
    }
  }

  /** The client's outcomes within the window before `now`, oldest first. */
  recent(clientIp: string, now: number): DataOutcome[] {
    return (this.#byClient.get(clientIp) ?? []).filter((o) => now - o.at < this.#windowMs);
  }
}
