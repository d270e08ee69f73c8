/**
 * How errors are written for problems found before any route runs (a URL that cannot be decoded, a
 * request line and headers over the size limit, a broken request): in the API's JSON envelope by
 * default, or in the dialect of the part of the app that owns the path (Azure's XML under `/blobs`).
 */
import { errors, type ApiError, type ApiFamily } from "../domain/errors.js";

/** Most bytes of request line and headers Node's HTTP parser accepts (over it: 431). */
export const MAX_HEADER_BYTES = 16 * 1024;

export type RequestProblem = "badUrl" | "headersTooLarge" | "timeout" | "badRequest";

export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ErrorDialect {
  /** Path prefix the dialect answers for, e.g. "/blobs". */
  prefix: string;
  render(problem: RequestProblem, requestId: string): RenderedError;
}

/** The service a path belongs to, for the right error code family. */
export function familyOf(url: string): ApiFamily {
  return url.toLowerCase().startsWith("/reality-management") ? "management" : "conversion";
}

function problemError(problem: RequestProblem, family: ApiFamily): ApiError {
  const detail = (code: string, message: string) => [{ code, message }];
  switch (problem) {
    case "badUrl":
      return errors.invalidRequest(family, [{ code: "InvalidParameter", message: "The URL is not valid: it has a malformed percent-escape.", target: "url" }]);
    case "headersTooLarge": {
      const message = `The request line and headers exceed ${MAX_HEADER_BYTES} bytes.`;
      return errors.requestRefused(431, family, message, detail("HeaderTooLarge", message));
    }
    case "timeout":
      return errors.requestRefused(408, family, "The request was not received in time.");
    case "badRequest":
      return errors.invalidRequest(family, detail("InvalidRequest", "The request is not valid HTTP."));
  }
}

/** The JSON envelope, for every path no other dialect claims. */
export function renderJsonError(problem: RequestProblem, url: string): RenderedError {
  const e = problemError(problem, familyOf(url));
  return { status: e.status, headers: { "content-type": "application/json; charset=utf-8" }, body: JSON.stringify(e.toBody()) };
}

export function renderError(dialects: ErrorDialect[], problem: RequestProblem, url: string, requestId: string): RenderedError {
  const dialect = dialects.find((d) => url.startsWith(`${d.prefix}/`) || url === d.prefix);
  return dialect ? dialect.render(problem, requestId) : renderJsonError(problem, url);
}
