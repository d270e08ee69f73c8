/**
 * Coded errors: the one table that maps what went wrong to the wire (status, code, message).
 * The domain throws ApiError; the HTTP layer only serialises it. Codes and messages follow the hosted
 * iTwin Platform APIs so clients that switch on `error.code` keep working.
 */

export interface ErrorDetail {
  code: string;
  message: string;
  target?: string;
}

export interface ErrorBody {
  error: { code: string; message: string; target?: string; details?: ErrorDetail[] };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
    readonly target?: string,
    /** Extra response headers (e.g. retry-after). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toBody(): ErrorBody {
    const error: ErrorBody["error"] = { code: this.code, message: this.message };
    if (this.target !== undefined) error.target = this.target;
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** The service a request addressed, for the right error code family. */
export type ApiFamily = "conversion" | "management";

const invalidRequest = {
  conversion: { code: "InvalidRealityConversionRequest", message: "Invalid request to Reality Conversion." },
  management: { code: "InvalidRealityDataRequest", message: "Invalid request to Reality Management." },
} as const;

export const errors = {
  headerNotFound: () =>
    new ApiError(401, "HeaderNotFound", "Header Authorization was not found in the request. Access denied.", [
      { code: "HeaderNotFound", message: "Header Authorization was not found in the request. Access denied." },
    ]),
  invalidToken: (why: string) =>
    new ApiError(401, "InvalidToken", "The access token is invalid or expired. Access denied.", [
      { code: "InvalidToken", message: why },
    ]),
  insufficientScope: () =>
    new ApiError(401, "InvalidToken", "The access token does not grant the itwin-platform scope. Access denied.", [
      { code: "InsufficientScope", message: "Scope itwin-platform is required." },
    ]),
  insufficientPermissions: () =>
    new ApiError(403, "InsufficientPermissions", "The user has insufficient permissions for the requested operation."),
  resourceNotFound: () =>
    new ApiError(404, "ResourceNotFound", "The requested resource was not found. Verify the API URL and the Accept header.", [
      { code: "OperationNotFound", message: "Unable to match incoming request to an operation." },
    ]),
  jobNotFound: () => new ApiError(404, "JobNotFound", "Requested job is not available."),
  iTwinNotFound: () => new ApiError(404, "iTwinNotFound", "Requested iTwin is not available."),
  realityDataNotFound: () => new ApiError(404, "RealityDataNotFound", "Requested reality data is not available."),
  /** 400 with details, for malformed requests (bad JSON, unknown property, bad value). */
  invalidRequest: (family: ApiFamily, details: ErrorDetail[], message?: string) =>
    new ApiError(400, invalidRequest[family].code, message ?? invalidRequest[family].message, details),
  /** 422: well-formed but cannot be done (unsupported format, wrong input type, illegal change). */
  unprocessable: (family: ApiFamily, details: ErrorDetail[], message?: string) =>
    new ApiError(422, invalidRequest[family].code, message ?? invalidRequest[family].message, details),
  /** The family's request error with a status of its own (408, 413, 415, 431). */
  requestRefused: (status: number, family: ApiFamily, message: string, details?: ErrorDetail[]) =>
    new ApiError(status, invalidRequest[family].code, message, details),
  invalidTop: () =>
    new ApiError(400, "InvalidRealityConversionRequest", "Cannot find jobs.", [
      {
        code: "InvalidParameter",
        message: "The $top query parameter value must be a positive integer that does not exceed 1000.",
        target: "$top",
      },
    ]),
  invalidFilter: (message: string) =>
    new ApiError(400, "InvalidRealityConversionRequest", "Cannot find jobs.", [
      { code: "InvalidParameter", message: `$filter contains an invalid or unsupported statement: ${message}`, target: "$filter" },
    ]),
  invalidContinuationToken: () =>
    new ApiError(400, "InvalidRealityConversionRequest", "Cannot find jobs.", [
      { code: "InvalidParameter", message: "The continuationToken is not valid.", target: "continuationToken" },
    ]),
  rateLimited: (retryAfterSeconds: number) =>
    new ApiError(
      429,
      "RateLimitExceeded",
      "The client sent more requests than allowed by this API for the current tier of the client.",
      undefined,
      undefined,
      { "retry-after": String(retryAfterSeconds) },
    ),
  invalidSignInCode: () =>
    new ApiError(401, "InvalidSignInCode", "The sign-in code is not valid: it is unknown, was already used, or has expired. Ask for a new sign-in link."),
  invalidShareLink: (why: string) => new ApiError(401, "InvalidShareLink", `The share link is not valid: ${why}`),
  internal: () => new ApiError(500, "InternalServerError", "The server encountered an internal error. Please retry the request."),
} as const;
