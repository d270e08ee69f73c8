/**
 * The HTTP application factory: builds the fastify instance (never listens; the caller does).
 * Handlers stay thin: authenticate, call one service method, map the result. Every error leaves as
 * the platform's `{ error: { code, message, ... } }` envelope with a correlation id.
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Logger } from "pino";
import { ApiError, errors } from "../domain/errors.js";
import type { Authenticator, Principal } from "../ports/auth.js";
import type { JobService } from "../services/job-service.js";
import { RateLimiter } from "./rate-limit.js";
import { jobRoutes } from "./routes/jobs.js";
import { featureRoutes } from "./routes/features.js";
import type { FeatureService } from "../services/feature-service.js";
import { toOpenApi30 } from "./schemas.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** preHandler: bearer-token authentication and the per-user rate limit. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

export interface AppDeps {
  jobService: JobService;
  authenticator: Authenticator;
  logger: Logger;
  rateLimitPerMinute: number;
  /** Base URL for absolute links; from the request's Host when absent. */
  publicUrl?: string;
  /** Liveness/readiness probe of the backing stores. */
  healthCheck?: () => Promise<void>;
  /** FeatureDB queries (OGC API Features style) on reality data. */
  featureService?: FeatureService;
  /** Extra plugins (reality management, blob endpoint, web UI) registered after the core. */
  plugins?: ((app: FastifyInstance) => Promise<void>)[];
}

/** API versions by path prefix, chosen by the Accept header as the platform does. */
const API_VERSIONS: { prefix: string; version: number }[] = [
  { prefix: "/reality-conversion", version: 2 },
  { prefix: "/reality-management", version: 1 },
];

const VERSIONED_ACCEPT = /application\/vnd\.bentley\.itwin-platform\.v(\d+)\+json/i;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers["x-correlation-id"];
      return typeof given === "string" && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    requestIdLogLabel: "correlationId",
    disableRequestLogging: false,
    bodyLimit: 1024 * 1024,
    // The platform's query strings carry `$filter` with '+' for spaces (URLSearchParams): the default parser decodes both.
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  const limiter = new RateLimiter(deps.rateLimitPerMinute);

  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-correlation-id", request.id);
    const api = API_VERSIONS.find((a) => request.url.toLowerCase().startsWith(a.prefix));
    if (!api) return;
    const accept = request.headers.accept;
    if (typeof accept === "string") {
      const m = VERSIONED_ACCEPT.exec(accept);
      if (m && Number(m[1]) !== api.version) throw errors.resourceNotFound();
    }
  });

  /** Authentication and the per-user rate limit, for every API route. */
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = await deps.authenticator.authenticate(request.headers.authorization);
    const wait = limiter.hit(principal.userId);
    if (wait > 0) throw errors.rateLimited(wait);
    request.principal = principal;
    void reply;
  };

  app.decorate("authenticate", authenticate);

  app.setErrorHandler((error: unknown, request, reply) => {
    const apiError = toApiError(error, request);
    if (apiError.status >= 500) request.log.error({ err: error }, "request failed");
    if (apiError.headers) reply.headers(apiError.headers);
    reply.status(apiError.status).send(apiError.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const e = errors.resourceNotFound();
    reply.status(404).send(e.toBody());
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "realconv: Reality Conversion API",
        version: "2",
        description:
          "Wire-compatible implementation of the iTwin Platform Reality Conversion API v2 (and the Reality Management subset jobs need).",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
      security: [{ bearer: [] }],
    },
    // A copy: the route schemas it was generated from stay as fastify compiled them.
    transformObject: (document) => toOpenApi30(structuredClone("openapiObject" in document ? document.openapiObject : document.swaggerObject)),
  });
  await app.register(swaggerUi, { routePrefix: "/reality-conversion/docs" });

  app.get("/reality-conversion/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get("/health", { schema: { hide: true } }, async (_request, reply) => {
    try {
      await deps.healthCheck?.();
      return { status: "ok" };
    } catch (e) {
      reply.status(503);
      return { status: "unavailable", reason: e instanceof Error ? e.message : String(e) };
    }
  });

  await app.register(jobRoutes, { jobService: deps.jobService, authenticate, publicUrl: deps.publicUrl });
  if (deps.featureService) await app.register(featureRoutes, { service: deps.featureService, authenticate, publicUrl: deps.publicUrl });
  for (const plugin of deps.plugins ?? []) await plugin(app);
  return app;
}

/** Maps anything thrown to the documented envelope; internals never leak. */
export function toApiError(error: unknown, request: FastifyRequest): ApiError {
  if (error instanceof ApiError) return error;
  const e = error as { statusCode?: number; code?: string; message?: string; validation?: unknown[]; validationContext?: string };
  const family = request.url.toLowerCase().startsWith("/reality-management") ? "management" : "conversion";
  if (e.validation) {
    return errors.invalidRequest(family, [{ code: "InvalidParameter", message: e.message ?? "Invalid request.", target: e.validationContext }]);
  }
  if (e.statusCode === 415 || e.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return new ApiError(415, family === "conversion" ? "InvalidRealityConversionRequest" : "InvalidRealityDataRequest", "Unsupported content type: send application/json.");
  }
  if (e.statusCode === 413) {
    return errors.invalidRequest(family, [{ code: "InvalidBody", message: "The request body is too large." }]);
  }
  if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
    // Malformed JSON and similar client errors found by fastify itself.
    return errors.invalidRequest(family, [{ code: "InvalidBody", message: e.message ?? "Malformed request." }]);
  }
  return errors.internal();
}
