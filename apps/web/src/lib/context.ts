import { getContext, setContext } from 'svelte';
import type { Api } from './api.js';
import type { Auth } from './auth.svelte.js';
import type { Clock } from './clock.svelte.js';
import type { LiveEvents } from './live.svelte.js';
import type { Router } from './router.svelte.js';

/** The app's shared objects, created once in App.svelte and read by pages through getApp(). */
export interface AppContext {
  api: Api;
  auth: Auth;
  router: Router;
  live: LiveEvents;
  /** The time zone timestamps are shown in. */
  clock: Clock;
}

const KEY = Symbol('ferry-app');
export const setApp = (context: AppContext) => setContext(KEY, context);
export const getApp = () => getContext<AppContext>(KEY);
