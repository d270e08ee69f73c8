/**
 * The signed-in user's token, in sessionStorage only (gone with the tab, never in a URL), and the client of the
 * two APIs built on it.
 */
import { createClient, type RealconvClient } from "@realconv/sdk";

export interface Session {
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  email?: string;
}

const KEY = "realconv.session";
const listeners = new Set<() => void>();

export function loadSession(): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Session | null;
    if (!s || typeof s.accessToken !== "string") return undefined;
    if (s.expiresAt <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return undefined;
    }
    return s;
  } catch {
    return undefined;
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
  listeners.forEach((l) => l());
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

export function onSessionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function token(): string {
  const s = loadSession();
  if (!s) {
    // An expired token: back to the sign-in page rather than a string of 401s.
    clearSession();
    return "";
  }
  return s.accessToken;
}

export const client: RealconvClient = createClient({ baseUrl: location.origin, getToken: token });

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { code: string; message: string; target?: string | null }[] = [],
  ) {
    super(message);
  }
}

/** A call to realconv's own routes (`/itwins`, `/app/...`), with the token unless `auth: false`. */
export async function appFetch<T>(path: string, o: { method?: string; body?: unknown; auth?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (o.auth !== false) {
    const t = token();
    if (t) headers.authorization = `Bearer ${t}`;
  }
  if (o.body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method: o.method ?? "GET", headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  } catch (e) {
    throw new AppError(0, "NetworkError", `${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string; details?: AppError["details"] } } | undefined)?.error;
    if (res.status === 401 && o.auth !== false) clearSession();
    throw new AppError(res.status, err?.code ?? "HttpError", err?.message ?? `HTTP ${res.status}`, err?.details ?? []);
  }
  return body as T;
}
