/**
 * Wires the API process: runtime (stores), authenticator, services, the fastify app. Used by
 * `realconv serve` and by the integration tests (which listen on port 0).
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { sql } from "kysely";
import type { Config } from "./config.js";
import { openRuntime, type Runtime } from "./runtime.js";
import { loadOrCreateKeys } from "./adapters/auth/local-issuer.js";
import { JwtAuthenticator, localKeySet, remoteKeySet } from "./adapters/auth/jwt-authenticator.js";
import { JobService } from "./services/job-service.js";
import { CachedITwinRegistry } from "./adapters/cache/cached-itwin-registry.js";
import { buildApp } from "./http/app.js";
import { realityDataRoutes } from "./http/routes/reality-data.js";
import { RealityDataService } from "./services/reality-data-service.js";
import { azureBlobEndpoint, azureErrorDialect } from "./adapters/blob/azure-endpoint.js";
import { FeatureService } from "./services/feature-service.js";
import { LocalContainerAccess, sasVerifier } from "./adapters/blob/sas.js";
import { loadOrCreateSecret } from "./adapters/auth/secrets.js";
import type { ContainerAccess } from "./ports/blob-store.js";
import type { RequestBudget } from "./http/rate-limit.js";
import { issueToken, type LocalKeys } from "./adapters/auth/local-issuer.js";
import { HmacShareTokens } from "./adapters/auth/share-tokens.js";
import { AzureBlobStore } from "./adapters/blob/azure-blob-store.js";
import { SignInService } from "./services/sign-in-service.js";
import { ShareService } from "./services/share-service.js";
import { webAppRoutes, type WebAuthConfig } from "./http/routes/web-app.js";
import { webAppStatic } from "./http/web-app-static.js";

/** Lifetime of the tokens sign-in links are exchanged for (the local issuer's default). */
export const WEB_TOKEN_SECONDS = 8 * 3600;

/** How the web app signs in: realconv's sign-in links, or OAuth2 against the external issuer. */
export function webAuthConfig(config: Config): WebAuthConfig | { missing: string } {
  if (!config.auth.jwksUrl) return { mode: "embedded" };
  const authority = config.web.authority ?? (/^https?:\/\//i.test(config.auth.issuer) ? config.auth.issuer : undefined);
  if (!authority) return { missing: "Tokens come from an external issuer: set REALCONV_AUTH_AUTHORITY to the OAuth2 authority the web app signs in at." };
  if (!config.web.clientId) return { missing: "Tokens come from an external issuer: set REALCONV_WEB_CLIENT_ID to the web app's OAuth2 client id there." };
  return { mode: "oauth", authority, clientId: config.web.clientId, scopes: config.web.scopes };
}

function originOf(url: string | undefined): string[] {
  try {
    return url ? [new URL(url).origin] : [];
  } catch {
    return [];
  }
}

function localTokenIssuer(keys: LocalKeys, audience: string | undefined) {
  return {
    issue: async (email: string) => ({ accessToken: await issueToken(keys, { email, expiresIn: WEB_TOKEN_SECONDS, audience }), expiresIn: WEB_TOKEN_SECONDS }),
  };
}

/** Where the embedded Azure-Blob-compatible endpoint serves containers. */
const BLOB_PREFIX = "/blobs";

export interface Server {
  app: FastifyInstance;
  runtime: Runtime;
  jobService: JobService;
  /** True when this start created the signing key (first start). */
  createdKeys: boolean;
  close(): Promise<void>;
}

export async function createServer(
  config: Config,
  logger: Logger,
  options: { notify?: () => void; rateLimiter?: RequestBudget } = {},
): Promise<Server> {
  const runtime = await openRuntime(config, { poolSize: 10 });
  const { keys, created } = await loadOrCreateKeys(config.home);
  const authenticator = new JwtAuthenticator({
    keys: config.auth.jwksUrl ? remoteKeySet(config.auth.jwksUrl) : localKeySet(keys),
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
  const itwins = new CachedITwinRegistry(runtime.itwins);
  const jobService = new JobService({
    jobs: runtime.jobs,
    itwins,
    realityData: runtime.realityData,
    blobs: runtime.blobs,
    notify: options.notify,
  });
  const realityDataService = new RealityDataService({ realityData: runtime.realityData, itwins, blobs: runtime.blobs });
  // Embedded storage: realconv serves the containers itself, signing SAS with its own secret.
  // Azure storage: container URLs are Azure's own SAS URLs, and clients talk to Azure directly.
  const sasSecret = config.sasSecret ?? loadOrCreateSecret(config.home, "sas-secret");
  const azureAccess = runtime.blobs as unknown as Partial<ContainerAccess>;
  const containerAccess = (base: string): ContainerAccess =>
    config.azureStorageConnectionString && typeof azureAccess.containerUrl === "function"
      ? (azureAccess as ContainerAccess)
      : new LocalContainerAccess(base, sasSecret);
  const sizeRefresh = new Map<string, NodeJS.Timeout>();
  const auth = webAuthConfig(config);
  const signIn = new SignInService(runtime.signInCodes, config.auth.jwksUrl ? undefined : localTokenIssuer(keys, config.auth.audience));
  const shares = new ShareService({
    realityDataService,
    realityData: runtime.realityData,
    tokens: new HmacShareTokens(config.web.shareSecret ?? loadOrCreateSecret(config.home, "share-secret")),
  });
  // The page talks to its authority (OAuth2) and, with Azure storage, to the storage account (uploads).
  const connectOrigins = [
    ...("mode" in auth && auth.mode === "oauth" ? originOf(auth.authority) : []),
    ...(runtime.blobs instanceof AzureBlobStore ? originOf(runtime.blobs.service.url) : []),
  ];
  const app = await buildApp({
    jobService,
    authenticator,
    logger,
    rateLimitPerMinute: config.rateLimitPerMinute,
    rateLimiter: options.rateLimiter,
    rateLimitWindowMs: config.rateLimitWindowMs,
    publicUrl: config.publicUrl,
    errorDialects: config.azureStorageConnectionString ? [] : [azureErrorDialect(BLOB_PREFIX)],
    featureService: new FeatureService({ realityData: realityDataService, blobs: runtime.blobs }),
    healthCheck: async () => {
      await sql`select 1`.execute(runtime.db.db);
    },
    plugins: [
      async (app) => {
        await app.register(realityDataRoutes, {
          service: realityDataService,
          authenticate: app.authenticate,
          containerAccess,
          publicUrl: config.publicUrl,
          refreshSizeOnRead: config.azureStorageConnectionString !== undefined,
        });
        await app.register(webAppRoutes, {
          authenticate: app.authenticate,
          auth,
          signIn,
          shares,
          itwins,
          containerAccess,
          publicUrl: config.publicUrl,
        });
        await webAppStatic(app, { root: config.web.root, connectOrigins });
        if (config.azureStorageConnectionString) return;
        await app.register(
          async (scope) => {
            // Keep reality data sizes current: recount a container shortly after writes to it settle.
            scope.addHook("onResponse", async (request, reply) => {
              if (request.method === "GET" || request.method === "HEAD" || reply.statusCode >= 300) return;
              const container = decodeURIComponent(request.url.slice(BLOB_PREFIX.length + 1).split(/[/?]/)[0] ?? "");
              if (!container) return;
              clearTimeout(sizeRefresh.get(container));
              sizeRefresh.set(
                container,
                setTimeout(() => {
                  sizeRefresh.delete(container);
                  realityDataService.refreshSize(container).catch((e) => logger.warn({ err: e, container }, "size refresh failed"));
                }, 500).unref(),
              );
            });
            await scope.register(azureBlobEndpoint, {
              store: runtime.blobs,
              verify: sasVerifier(sasSecret),
              limits: { containerQuotaBytes: config.maxRealityDataMb * 1024 * 1024 },
            });
          },
          { prefix: BLOB_PREFIX },
        );
      },
    ],
  });
  return {
    app,
    runtime,
    jobService,
    createdKeys: created,
    async close() {
      for (const t of sizeRefresh.values()) clearTimeout(t);
      await app.close();
      await runtime.close();
    },
  };
}
