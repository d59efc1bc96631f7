import { describeError } from './api-errors.js';

/**
 * The load / error state that list and detail pages repeat: the last good `data`, the `error` of the last
 * attempt (as a sentence for the page), and `loading` while a request runs. A reply that arrives after a newer
 * load() started is dropped, so a slow early search cannot overwrite a later one. Failed reloads keep the old
 * data, so a page can show "data from a moment ago" next to the error.
 *
 *   const sessions = new Loader(() => api.history(query));   // reads `query` at each load()
 *   onMount(() => void sessions.load());
 *   {#if sessions.data === null && sessions.error} … {:else if sessions.data === null} loading … {/if}
 */
export class Loader<T> {
  data = $state.raw<T | null>(null);
  error = $state<string | null>(null);
  loading = $state(false);
  #generation = 0;

  constructor(private readonly fetch: () => Promise<T>) {}

  /** Resolves true when this load's data is now shown. */
  async load(): Promise<boolean> {
    const generation = ++this.#generation;
    this.loading = true;
    try {
      const data = await this.fetch();
      if (generation !== this.#generation) return false;
      this.data = data;
      this.error = null;
      return true;
    } catch (caught) {
      if (generation === this.#generation) this.error = describeError(caught);
      return false;
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }
}

/** An action's busy flag and error (a button that saves or deletes): run() never throws. */
export class Busy {
  running = $state(false);
  error = $state<string | null>(null);

  async run<T>(action: () => Promise<T>): Promise<T | undefined> {
    this.running = true;
    this.error = null;
    try {
      return await action();
    } catch (caught) {
      this.error = describeError(caught);
      return undefined;
    } finally {
      this.running = false;
    }
  }
}
