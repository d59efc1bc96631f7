/** Path matching for the dashboard's router: "/sessions/live/:id" patterns, no regular expressions to write. */

export type Params = Record<string, string>;

export interface RouteDef<Name extends string = string> {
  name: Name;
  /** Segments; ":name" captures one segment. */
  pattern: string;
}

export interface RouteMatch<Name extends string = string> {
  name: Name;
  params: Params;
}

const segments = (path: string) => path.split('/').filter((s) => s !== '');

/** Matches one pattern against a pathname (no query). Returns the captured, decoded params or null. */
export function matchPath(pattern: string, pathname: string): Params | null {
  const want = segments(pattern);
  const have = segments(pathname);
  if (want.length !== have.length) return null;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(h);
      } catch {
        return null; // malformed escape: not a route of ours
      }
    } else if (w !== h) {
      return null;
    }
  }
  return params;
}

/** The first route that matches, in declaration order (so "/users/new" must come before "/users/:username"). */
export function matchRoute<Name extends string>(routes: readonly RouteDef<Name>[], pathname: string): RouteMatch<Name> | null {
  for (const route of routes) {
    const params = matchPath(route.pattern, pathname);
    if (params) return { name: route.name, params };
  }
  return null;
}

/** Builds a path from a pattern: ("/users/:username", {username: "a b"}) → "/users/a%20b". */
export function buildPath(pattern: string, params: Params = {}): string {
  const path = segments(pattern)
    .map((s) => (s.startsWith(':') ? encodeURIComponent(params[s.slice(1)] ?? '') : s))
    .join('/');
  return `/${path}`;
}

/**
 * Whether a click on a link should be handled by the router instead of the browser:
 * same origin, plain left click, no target or download, and not an API or file URL.
 */
export function isRouterLink(
  href: string,
  origin: string,
  click: { button: number; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean },
  anchor: { target: string; hasDownload: boolean },
): boolean {
  if (click.button !== 0 || click.metaKey || click.ctrlKey || click.shiftKey || click.altKey) return false;
  if (anchor.hasDownload || (anchor.target !== '' && anchor.target !== '_self')) return false;
  let url: URL;
  try {
    url = new URL(href, origin);
  } catch {
    return false;
  }
  if (url.origin !== origin) return false;
  return !url.pathname.startsWith('/api/') && url.pathname !== '/metrics' && url.pathname !== '/healthz';
}
