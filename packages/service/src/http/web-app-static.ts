/**
 * The built web app at `/`: index.html (never cached, so a new build is picked up at once) and its
 * content-hashed assets under /assets/ (cached for a year). The files are looked up per request, so an app
 * built while the server runs is served without a restart; until it is built, `/` says so. The app owns `/`,
 * `/assets/*` and top-level files with an extension only, so it never takes a path of the API.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

export interface WebAppStaticOptions {
  root: string;
  /** Origins the page may talk to besides its own (the OAuth2 authority, the blob storage account). */
  connectOrigins: string[];
}

const LONG_CACHE = "public, max-age=31536000, immutable";

/** What a Vite build of the app needs, and nothing more: no inline scripts, no other origins for code. */
export function contentSecurityPolicy(connectOrigins: string[]): string {
  return [
    "default-src 'self'",
    // WebAssembly decoders (meshes, point clouds) compile in the page and its workers.
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src ${["'self'", "data:", "blob:", ...connectOrigins].join(" ")}`,
    "worker-src 'self' blob:",
    "child-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const NOT_BUILT = (root: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>realconv</title></head>
<body><h1>realconv</h1>
<p>The web app is not built. Build it with <code>npm run build -w packages/web</code> (it is looked for in <code>${root
  .replace(/&/g, "&amp;")
  .replace(/</g, "&lt;")}</code>), then reload this page.</p>
<p>The API is at <a href="/reality-conversion/docs">/reality-conversion/docs</a>.</p>
</body></html>
`;

export async function webAppStatic(app: FastifyInstance, o: WebAppStaticOptions): Promise<void> {
  const csp = contentSecurityPolicy(o.connectOrigins);
  await app.register(async (scope) => {
    scope.addHook("onSend", async (_request, reply, payload) => {
      // A miss falls through to the API's 404, which is no page.
      if (reply.statusCode >= 400) return payload;
      reply.headers({
        "content-security-policy": csp,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
      });
      return payload;
    });
    await scope.register(fastifyStatic, {
      root: o.root,
      // Only reply.sendFile: the routes below say which paths are the app's, so no catch-all takes paths
      // from the API or from the blob endpoint (whose misses answer in its own dialect).
      serve: false,
      index: false,
      dotfiles: "ignore",
      cacheControl: false,
      decorateReply: true,
      setHeaders: (res, path) => {
        const relative = path.slice(o.root.length).replace(/\\/g, "/");
        res.setHeader("cache-control", relative.startsWith("/assets/") ? LONG_CACHE : "no-cache");
      },
    });
    const hidden = { schema: { hide: true } };
    scope.get("/", hidden, async (_request, reply) => {
      if (existsSync(join(o.root, "index.html"))) return reply.sendFile("index.html");
      reply.header("cache-control", "no-cache").type("text/html; charset=utf-8");
      return NOT_BUILT(o.root);
    });
    scope.get<{ Params: { "*": string } }>("/assets/*", hidden, async (request, reply) => reply.sendFile(`assets/${request.params["*"]}`));
    // Files at the top of the build (index.html, favicon.svg, ...): one segment with an extension.
    scope.get<{ Params: { file: string } }>("/:file(^[\\w.-]+\\.[A-Za-z0-9]+$)", hidden, async (request, reply) => reply.sendFile(request.params.file));
  });
}
