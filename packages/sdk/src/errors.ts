import type { ErrorDetail } from "./wire.js";

/**
 * Every failure of the client: an error answer of the API (its `code`, `message`, `target` and `details`, and the
 * HTTP status), of a container (Azure's error code, e.g. `BlobNotFound`), or a request that got no answer
 * (`status` 0, code `NetworkError`). Aborting through an `AbortSignal` rejects with the signal's reason instead.
 */
export class RealconvError extends Error {
  override readonly name = "RealconvError";

  constructor(
    /** HTTP status of the answer; 0 when there was none. */
    readonly status: number,
    /** The service's error code (`JobNotFound`, `InvalidRealityConversionRequest`, `RateLimitExceeded`...). */
    readonly code: string,
    message: string,
    readonly target?: string | null,
    /** The more specific errors, e.g. one per invalid property of a request. */
    readonly details: readonly ErrorDetail[] = [],
    /** The `x-correlation-id` of the request, to find it in the server's logs. */
    readonly correlationId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The message with the details, one line: what a command line prints. */
  describe(): string {
    const details = this.details.map((d) => `${d.target ? `${d.target}: ` : ""}${d.message} (${d.code})`);
    return [`${this.message} (${this.code}, HTTP ${this.status})`, ...details].join("; ");
  }
}

/** The error of a non-2xx answer, from the API's error body when it has one. */
export async function errorFromResponse(res: Response): Promise<RealconvError> {
  const correlationId = res.headers.get("x-correlation-id") ?? undefined;
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; target?: unknown; details?: unknown } } | undefined)?.error;
  if (e && typeof e.code === "string") {
    const details = Array.isArray(e.details) ? (e.details as ErrorDetail[]) : [];
    const target = typeof e.target === "string" ? e.target : undefined;
    return new RealconvError(res.status, e.code, typeof e.message === "string" ? e.message : e.code, target, details, correlationId);
  }
  const summary = text.trim().slice(0, 200) || res.statusText || "no body";
  return new RealconvError(res.status, "HttpError", `HTTP ${res.status}: ${summary}`, undefined, [], correlationId);
}

/** A storage client's error (`RestError` of `@azure/storage-blob`) as a RealconvError; anything else unchanged. */
export function fromStorageError(e: unknown): unknown {
  if (e instanceof RealconvError || !(e instanceof Error) || e.name === "AbortError") return e;
  const r = e as Error & { statusCode?: number; code?: string; details?: { errorCode?: string } };
  if (e.name !== "RestError") return e;
  const code = r.details?.errorCode ?? r.code ?? "StorageError";
  return new RealconvError(r.statusCode ?? 0, code, e.message.split("\n")[0], undefined, [], undefined, { cause: e });
}
