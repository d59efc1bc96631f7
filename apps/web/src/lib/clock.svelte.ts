import type { Api } from './api.js';
import { displayTimeZone, setDisplayTimeZone } from './format.js';

/**
 * Which clock the dashboard shows times in: the server's IANA zone (ServerInfo.timeZone) or the browser's, per
 * the displayTimeZone setting (default: the server's). load() reads both once after sign-in and sets the zone
 * lib/format.ts formats with; `zone` changes when it does, so the shell can redraw the page.
 */
export class Clock {
  /** The IANA zone in use; null until load() has finished. */
  zone = $state<string | null>(null);
  /** The server's zone, for labels ("server time, Europe/Berlin"). */
  serverZone = $state<string | null>(null);
  source = $state<'server' | 'browser'>('server');

  constructor(private readonly api: Api) {}

  async load(): Promise<void> {
    const [server, settings] = await Promise.allSettled([this.api.server(), this.api.settings()]);
    const serverZone = server.status === 'fulfilled' ? (server.value.timeZone ?? null) : null;
    const wanted = settings.status === 'fulfilled' ? settings.value.values.displayTimeZone : undefined;
    this.serverZone = serverZone;
    this.apply(wanted === 'browser' ? 'browser' : 'server');
  }

  /** Switches the clock (after the setting changed) without reloading the page. */
  apply(source: 'server' | 'browser'): void {
    this.source = source;
    // A server too old to say its zone: the browser's is the only one known.
    setDisplayTimeZone(source === 'server' && this.serverZone ? this.serverZone : undefined);
    this.zone = displayTimeZone();
  }
}
