/** Hash routing (`/#/itwins/<id>`): realconv serves one index.html at `/`, so every page lives in the fragment. */
import { useEffect, useState } from "react";

export interface Route {
  /** Path segments after `#/`, decoded. */
  path: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const q = raw.indexOf("?");
  const pathPart = q < 0 ? raw : raw.slice(0, q);
  return {
    path: pathPart.split("/").filter(Boolean).map((s) => decodeURIComponent(s)),
    query: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)),
  };
}

export function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return parseHash(hash);
}

/** A hash link from path segments (encoded) and an optional query. */
export function link(segments: string[], query?: Record<string, string | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") qs.set(k, v);
  const s = qs.toString();
  return `#/${segments.map(encodeURIComponent).join("/")}${s ? `?${s}` : ""}`;
}

export function navigate(to: string): void {
  location.hash = to.replace(/^#/, "");
}

/** Replaces the current history entry (the sign-in code must not stay in the history either). */
export function replaceRoute(to: string): void {
  history.replaceState(null, "", `${location.pathname}${to}`);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
