/**
 * The JSON request body parser of the API routes. It refuses bodies nested deeper than MAX_JSON_DEPTH
 * before anything recursive (the parser, validation, logging) touches them, and reads an empty body as
 * no body: clients send `Content-Type: application/json` on body-less DELETEs and POSTs too.
 */
import type { FastifyInstance } from "fastify";
import { errors } from "../domain/errors.js";
import { familyOf } from "./error-dialects.js";

/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x5b, 0x7b]);
const CLOSERS = new Set([0x5d, 0x7d]);

/** True when `text` nests arrays and objects deeper than `max`: one linear pass that skips strings. */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (OPENERS.has(c)) {
      if (++depth > max) return true;
    } else if (CLOSERS.has(c)) depth--;
  }
  return false;
}

export function registerJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "ignore");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === "") return done(null, undefined);
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      const message = `The JSON body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`;
      return done(errors.invalidRequest(familyOf(request.url), [{ code: "InvalidBody", message }]), undefined);
    }
    parse(request, text, done);
  });
}
