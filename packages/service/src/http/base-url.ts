import type { FastifyRequest } from "fastify";

/** The service's base URL for links it returns: the configured public URL (behind a proxy), else the request's. */
export function baseUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, "");
  return `${request.protocol}://${request.host}`;
}
