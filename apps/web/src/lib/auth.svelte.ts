import type { Me } from '@ferry/contract';
import type { Api } from './api.js';
import { ApiError } from './api-errors.js';

export type AuthStatus = 'checking' | 'signed-out' | 'signed-in';

/** Who is signed in. connect() asks the server once; a 401 anywhere later signs out with "session expired". */
export class Auth {
  status = $state<AuthStatus>('checking');
  me = $state.raw<Me | null>(null);
  /** Set when a signed-in session stopped working (expired or revoked), for the sign-in page's message. */
  expired = $state(false);
  /** Set when /auth/me itself failed for another reason than 401 (server unreachable). */
  problem = $state<string | null>(null);

  constructor(private readonly api: Api) {
    api.onUnauthorized = () => this.#lost();
  }

  async connect(): Promise<void> {
    this.status = 'checking';
    this.problem = null;
    try {
      this.#signedIn(await this.api.me());
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) {
        this.problem = error instanceof Error ? error.message : 'Cannot reach the Ferry server.';
      }
      this.status = 'signed-out';
    }
  }

  /** Throws ApiError (401: wrong credentials; 429: too many attempts). */
  async login(username: string, password: string): Promise<void> {
    await this.api.login(username, password);
    this.#signedIn(await this.api.me());
  }

  async logout(): Promise<void> {
    try {
      await this.api.logout();
    } finally {
      this.api.csrfToken = null;
      this.me = null;
      this.expired = false;
      this.status = 'signed-out';
    }
  }

  #signedIn(me: Me): void {
    this.api.csrfToken = me.csrfToken;
    this.me = me;
    this.expired = false;
    this.problem = null;
    this.status = 'signed-in';
  }

  #lost(): void {
    if (this.status !== 'signed-in') return;
    this.api.csrfToken = null;
    this.me = null;
    this.expired = true;
    this.status = 'signed-out';
  }
}
