import { isRouterLink, matchRoute, type RouteMatch } from './route-match.js';
import { ROUTES, type RouteName } from './routes.js';

/**
 * A history-API router: real paths such as /sessions/live/<id> (the server answers every non-API path with
 * index.html). Plain <a href> links work everywhere: connect() intercepts same-origin clicks.
 */
export class Router {
  path = $state('/');
  search = $state('');
  route: RouteMatch<RouteName> | null = $derived(matchRoute(ROUTES, this.path));
  query: URLSearchParams = $derived(new URLSearchParams(this.search));
  /** A navigation held back because the page has unsaved changes: leave() goes on with it, stay() drops it. */
  pending = $state<string | null>(null);

  /** Pages with unsaved changes: each says whether leaving now would lose edits. */
  #guards = new Set<() => boolean>();

  #onPop = () => {
    const target = location.pathname + location.search;
    if (this.#blocked()) {
      // Back/forward already moved the URL: put the page's own back and ask first.
      history.pushState(null, '', this.path + this.search);
      this.pending = target;
      return;
    }
    this.#read();
  };
  #onClick = (event: MouseEvent) => {
    if (event.defaultPrevented) return;
    const anchor = (event.target as Element | null)?.closest?.('a');
    if (!anchor || !anchor.hasAttribute('href')) return;
    const href = anchor.getAttribute('href')!;
    const link = { target: anchor.target, hasDownload: anchor.hasAttribute('download') };
    if (!isRouterLink(href, location.origin, event, link)) return;
    event.preventDefault();
    this.navigate(href);
  };

  connect(): void {
    this.#read();
    window.addEventListener('popstate', this.#onPop);
    document.addEventListener('click', this.#onClick);
  }

  close(): void {
    window.removeEventListener('popstate', this.#onPop);
    document.removeEventListener('click', this.#onClick);
  }

  /**
   * Asks `hasUnsavedChanges` before every in-app navigation while the returned function has not been called;
   * when it answers true the navigation waits in `pending` for leave() or stay().
   */
  guard(hasUnsavedChanges: () => boolean): () => void {
    this.#guards.add(hasUnsavedChanges);
    return () => {
      this.#guards.delete(hasUnsavedChanges);
      if (this.#guards.size === 0) this.pending = null;
    };
  }

  /** Goes where the held-back navigation wanted to go, unsaved changes or not. */
  leave(): void {
    const target = this.pending;
    this.pending = null;
    if (target !== null) this.navigate(target, { force: true });
  }

  /** Stays on the page with the unsaved changes. */
  stay(): void {
    this.pending = null;
  }

  /** `force`: leave even a page with unsaved changes (after they were saved or deleted along with their subject). */
  navigate(href: string, options: { replace?: boolean; force?: boolean } = {}): void {
    const url = new URL(href, location.origin);
    const target = url.pathname + url.search;
    if (target === location.pathname + location.search) return;
    if (!options.force && this.#blocked()) {
      this.pending = target;
      return;
    }
    if (options.replace) history.replaceState(null, '', target);
    else history.pushState(null, '', target);
    this.#read();
    if (!options.replace) window.scrollTo(0, 0);
  }

  #blocked(): boolean {
    for (const hasUnsavedChanges of this.#guards) if (hasUnsavedChanges()) return true;
    return false;
  }

  #read(): void {
    this.path = location.pathname;
    this.search = location.search;
  }
}
