/** Subscribing to the engine's events as one step that can be undone. */
import type { FtpServer, FtpServerEvents } from '@ferry/ftp-core';

export type EngineListener<K extends keyof FtpServerEvents> = (...args: FtpServerEvents[K]) => void;
export type EngineListeners = { [K in keyof FtpServerEvents]?: EngineListener<K> };

/** Adds each listener to `server`; returns a function that removes them all. */
export function subscribe(server: FtpServer, listeners: EngineListeners): () => void {
  const entries = Object.entries(listeners) as [keyof FtpServerEvents, (...args: unknown[]) => void][];
  for (const [event, listener] of entries) server.on(event, listener as never);
  return () => {
    for (const [event, listener] of entries) server.off(event, listener as never);
  };
}
