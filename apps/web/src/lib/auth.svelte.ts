import type { LoginBody, Me } from '@ferry/contract';
import type { Api } from './api.js';
import { ApiError } from './api-errors.js';
import { abilitiesOf } from './roles.js';

export type AuthStatus = 'checking' | 'signed-out' | 'signed-in';

/** Who is signed in. connect() asks the server once; a 401 anywhere later signs out with "session expired". */
export class Auth {
  status = $state<AuthStatus>('checking');
  me = $state.raw<Me | null>(null);
  /** Set when a signed-in session stopped working (expired or revoked), for the sign-in page's message. */
  expired = $state(false);
  /** Set when /auth/me itself failed for another reason than 401 (server unreachable). */
  problem = $state<string | null>(null);
  /** Recovery codes left after a sign-in that used one (for a reminder to make new ones); null otherwise. */
  recoveryCodesLeft = $state<number | null>(null);
  /** What the signed-in admin's role lets the dashboard offer. */
  readonly can = $derived(abilitiesOf(this.me?.role ?? null));

  constructor(private readonly api: Api) {
    api.onUnauthorized = () => this.#lost();
    api.onEnrolmentRequired = () => void this.refresh().catch(() => undefined);
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

  /**
   * Throws ApiError: 401 APP_BAD_CREDENTIALS (wrong password), TOTP_REQUIRED (send a code too), TOTP_INVALID
   * (with remainingAttempts); 429 TOTP_LOCKED or too many attempts.
   */
  async login(body: LoginBody): Promise<void> {
    const reply = await this.api.login(body);
    this.api.csrfToken = reply.csrfToken;
    const me = await this.api.me();
    this.#signedIn(me);
    this.recoveryCodesLeft = reply.recoveryCodesLeft ?? null;
  }

  /** Reads /auth/me again (after two-factor sign-in was turned on or off). */
  async refresh(): Promise<void> {
    this.#signedIn(await this.api.me());
  }

  async logout(): Promise<void> {
    try {
      await this.api.logout();
    } finally {
      this.api.csrfToken = null;
      this.me = null;
      this.expired = false;
      this.recoveryCodesLeft = null;
      this.status = 'signed-out';
    }
  }

  /** After the server already ended this session (sign out everywhere): back to the sign-in page, without a request. */
  signedOut(): void {
    this.api.csrfToken = null;
    this.me = null;
    this.expired = false;
    this.recoveryCodesLeft = null;
    this.status = 'signed-out';
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
