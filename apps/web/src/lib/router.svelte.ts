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

  #onPop = () => this.#read();
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

  navigate(href: string, options: { replace?: boolean } = {}): void {
    const url = new URL(href, location.origin);
    const target = url.pathname + url.search;
    if (target === location.pathname + location.search) return;
    if (options.replace) history.replaceState(null, '', target);
    else history.pushState(null, '', target);
    this.#read();
    if (!options.replace) window.scrollTo(0, 0);
  }

  #read(): void {
    this.path = location.pathname;
    this.search = location.search;
  }
}
