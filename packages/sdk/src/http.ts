/**
 * Requests to the two APIs with `fetch`: the bearer token, the Accept header each API versions on (v2 for
 * Reality Conversion, v1 for Reality Management), JSON bodies, errors as RealconvError, and 429 answers retried
 * after their `retry-after`.
 */
import { errorFromResponse, RealconvError } from "./errors.js";

export interface RetryOptions {
  /** Retries of one call answered 429 before its RealconvError is thrown (default 5). */
  maxRetries?: number;
  /** Longest `retry-after` the client waits for; a longer one is thrown at once (default 120 s). */
  maxWaitSeconds?: number;
}

export interface ClientOptions {
  /**
   * Where the APIs are: `https://api.bentley.com` for the hosted service, `http://127.0.0.1:8080` for a local
   * realconv (the paths `/reality-conversion` and `/reality-management` are added).
   */
  baseUrl: string;
  /** A bearer token (with or without the `Bearer ` prefix), asked for before each request. */
  getToken: () => string | Promise<string>;
  retry?: RetryOptions;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

export type Api = "conversion" | "management";

const ACCEPT: Record<Api, string> = {
  conversion: "application/vnd.bentley.itwin-platform.v2+json",
  management: "application/vnd.bentley.itwin-platform.v1+json",
};

export interface RequestOptions {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  body?: unknown;
  query?: Record<string, string | number | readonly string[] | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Seconds a `retry-after` header asks for (delta-seconds or an HTTP date); 1 when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number {
  if (header === null) return 1;
  const seconds = Number(header);
  if (header.trim() !== "" && Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1 : Math.max(0, (date - now) / 1000);
}

export class Transport {
  readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly maxRetries: number;
  private readonly maxWaitSeconds: number;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    // Bound to globalThis: browsers refuse a fetch called as a method of another object.
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.maxRetries = options.retry?.maxRetries ?? 5;
    this.maxWaitSeconds = options.retry?.maxWaitSeconds ?? 120;
  }

  url(path: string, query: RequestOptions["query"] = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) params.append(k, x);
      else params.set(k, String(v));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ""}`;
  }

  /** One call to an API path (or an absolute URL the API gave, such as `_links.next.href`); the parsed JSON answer. */
  async json<T>(api: Api, pathOrUrl: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.send(api, pathOrUrl, o);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async send(api: Api, pathOrUrl: string, o: RequestOptions = {}): Promise<Response> {
    const url = /^https?:\/\//i.test(pathOrUrl) ? pathOrUrl : this.url(pathOrUrl, o.query);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: ACCEPT[api], ...o.headers };
      const token = String(await this.options.getToken()).trim();
      if (token) headers.authorization = /^bearer /i.test(token) ? token : `Bearer ${token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers["content-type"] = "application/json";
      }
      let res: Response;
      try {
        res = await this.fetch(url, { method: o.method ?? "GET", headers, body, signal: o.signal });
      } catch (e) {
        if (o.signal?.aborted) throw o.signal.reason;
        throw new RealconvError(0, "NetworkError", `${o.method ?? "GET"} ${url} failed: ${e instanceof Error ? e.message : String(e)}`, undefined, [], undefined, { cause: e });
      }
      if (res.ok) return res;
      if (res.status === 429 && attempt < this.maxRetries) {
        const wait = retryAfterSeconds(res.headers.get("retry-after"));
        if (wait <= this.maxWaitSeconds) {
          await res.body?.cancel().catch(() => undefined);
          await sleep(wait * 1000, o.signal);
          continue;
        }
      }
      throw await errorFromResponse(res);
    }
  }
}
