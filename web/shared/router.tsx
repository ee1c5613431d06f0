/**
 * A tiny path router for the single-page apps. Each app lives under its own prefix (/wallet/, /till/,
 * /console/) and Koban serves index.html for every deep link below it, so the path is the state:
 * reload, back and forward work, and a link can be shared. Routes are exact paths or patterns with
 * `:name` segments; the first match wins.
 */
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

export type RouteParams = Record<string, string>;
export type Routes = Record<string, (params: RouteParams) => ReactNode>;

interface Router {
  /** The path below the app's prefix, always starting with '/'. */
  path: string;
  query: URLSearchParams;
  /** The full URL of an in-app path (for hrefs: opening a link in a new tab must land in the app). */
  href(path: string): string;
  navigate(path: string, options?: { replace?: boolean }): void;
}

const RouterContext = createContext<Router | null>(null);

export function RouterProvider(props: { prefix: string; children: ReactNode }) {
  const read = () => ({ path: stripPrefix(location.pathname, props.prefix), search: location.search });
  const [location_, setLocation] = useState(read);
  useEffect(() => {
    const onPop = () => setLocation(read());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  });
  const router = useMemo<Router>(() => ({
    path: location_.path,
    query: new URLSearchParams(location_.search),
    href: (path) => props.prefix.replace(/\/$/, '') + path,
    navigate(path, options) {
      const url = props.prefix.replace(/\/$/, '') + path;
      if (options?.replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
      setLocation(read());
      scrollTo(0, 0);
    },
  }), [location_, props.prefix]);
  return <RouterContext.Provider value={router}>{props.children}</RouterContext.Provider>;
}

export function useRouter(): Router {
  const router = useContext(RouterContext);
  if (router === null) throw new Error('useRouter outside RouterProvider');
  return router;
}

/** Renders the first route whose pattern matches the current path, or `fallback`. */
export function Switch(props: { routes: Routes; fallback: ReactNode }) {
  const { path } = useRouter();
  for (const [pattern, render] of Object.entries(props.routes)) {
    const params = matchPath(pattern, path);
    if (params !== null) return <>{render(params)}</>;
  }
  return <>{props.fallback}</>;
}

export function Link(props: { to: string; children: ReactNode; className?: string }) {
  const router = useRouter();
  return (
    <a href={router.href(props.to)} className={props.className} onClick={(event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      router.navigate(props.to);
    }}>{props.children}</a>
  );
}

export function matchPath(pattern: string, path: string): RouteParams | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: RouteParams = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    if (segment.startsWith(':')) params[segment.slice(1)] = decodeURIComponent(have[i]!);
    else if (segment !== have[i]) return null;
  }
  return params;
}

function stripPrefix(pathname: string, prefix: string): string {
  const base = prefix.replace(/\/$/, '');
  const rest = pathname.startsWith(base) ? pathname.slice(base.length) : pathname;
  return rest === '' ? '/' : rest;
}
