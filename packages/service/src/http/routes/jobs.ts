/**
 * /reality-conversion/jobs: the six operations of the Reality Conversion API v2.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { OutgoingHttpHeaders } from "node:http";
import type { JobService } from "../../services/job-service.js";
import { baseUrl } from "../base-url.js";
import {
  ErrorResponse,
  JobCreationSchema,
  JobResponse,
  JobsResponse,
  ListJobsQuery,
  MessagesResponse,
  ProgressResponse,
} from "../schemas.js";

export interface JobRoutesOptions {
  jobService: JobService;
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  publicUrl?: string;
}

const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  404: ErrorResponse,
  422: ErrorResponse,
  429: ErrorResponse,
};

const JOBS_OPEN = Buffer.from(`{"jobs":[`);

const idParam = {
  type: "object",
  properties: { id: { type: "string", description: "Job id" } },
  required: ["id"],
} as const;

/**
 * Sends a JSON body given in parts, without joining them first: a listing page is tens of kilobytes,
 * and copying it into one buffer costs more than the socket's gathered write. The reply is hijacked
 * (there are no onSend hooks on these routes); fastify still logs the response when it finishes.
 */
function sendParts(reply: FastifyReply, parts: Uint8Array[]): FastifyReply {
  let length = 0;
  for (const p of parts) length += p.byteLength;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { ...(reply.getHeaders() as OutgoingHttpHeaders), "content-type": "application/json; charset=utf-8", "content-length": length });
  res.cork();
  for (let i = 0; i < parts.length - 1; i++) res.write(parts[i]);
  res.end(parts[parts.length - 1]);
  return reply;
}

export async function jobRoutes(app: FastifyInstance, options: JobRoutesOptions): Promise<void> {
  const { jobService: service, authenticate } = options;
  const tags = ["Jobs"];

  app.post(
    "/reality-conversion/jobs",
    {
      preHandler: authenticate,
      schema: {
        tags,
        summary: "Create a job",
        description: "Creates a conversion job; the service creates its output reality data and queues it.",
        body: JobCreationSchema,
        response: { 201: JobResponse, ...errorResponses },
      },
      // The body is validated by the domain (exact hosted-style errors), not by ajv.
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      const job = await service.create(request.principal!, request.body);
      reply.status(201);
      return { job };
    },
  );

  app.get<{ Querystring: Record<string, string | undefined> }>(
    "/reality-conversion/jobs",
    {
      preHandler: authenticate,
      schema: {
        tags,
        summary: "Get jobs",
        description: "Jobs matching `$filter`, oldest first, in pages of `$top` (default 100, max 1000).",
        querystring: ListJobsQuery,
        response: { 200: JobsResponse, ...errorResponses },
      },
      validatorCompiler: () => () => true,
    },
    async (request, reply) => {
      const q = request.query;
      const filter = one(q["$filter"]);
      const result = await service.list(request.principal!, {
        filter,
        top: one(q["$top"]),
        // Clients send `continuationToken=` on a first page: an empty token is no token.
        continuationToken: one(q["continuationToken"]) || undefined,
      });
      // The jobs arrive as wire JSON (see JobStore.listJson): assemble the body without re-serialising them.
      let links = "";
      if (result.continuationToken) {
        const params = [
          `$filter=${encodeURIComponent(filter ?? "")}`,
          `$top=${result.top}`,
          `continuationToken=${encodeURIComponent(result.continuationToken)}`,
        ];
        const href = `${baseUrl(request, options.publicUrl)}/reality-conversion/jobs?${params.join("&")}`;
        links = `,"_links":{"next":{"href":${JSON.stringify(href)}}}`;
      }
      return sendParts(reply, [JOBS_OPEN, result.jobsJson, Buffer.from(`]${links}}`)]);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/reality-conversion/jobs/:id",
    { preHandler: authenticate, schema: { tags, summary: "Get a job", params: idParam, response: { 200: JobResponse, ...errorResponses } } },
    async (request) => ({ job: await service.get(request.principal!, request.params.id) }),
  );

  app.delete<{ Params: { id: string } }>(
    "/reality-conversion/jobs/:id",
    {
      preHandler: authenticate,
      schema: {
        tags,
        summary: "Cancel a job",
        description: "Cancels the job: it is returned in state TerminatingOnCancel, or in its final state if it had already ended.",
        params: idParam,
        response: { 200: JobResponse, ...errorResponses },
      },
    },
    async (request) => ({ job: await service.cancel(request.principal!, request.params.id) }),
  );

  app.get<{ Params: { id: string } }>(
    "/reality-conversion/jobs/:id/progress",
    {
      preHandler: authenticate,
      schema: { tags, summary: "Get job progress", params: idParam, response: { 200: ProgressResponse, ...errorResponses } },
    },
    async (request) => ({ progress: await service.progress(request.principal!, request.params.id) }),
  );

  app.get<{ Params: { id: string } }>(
    "/reality-conversion/jobs/:id/messages",
    {
      preHandler: authenticate,
      schema: { tags, summary: "Get job messages", params: idParam, response: { 200: MessagesResponse, ...errorResponses } },
    },
    async (request) => ({ messages: await service.messages(request.principal!, request.params.id) }),
  );
}

/** A repeated query key counts as its first value. */
function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
