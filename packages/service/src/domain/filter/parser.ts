/**
 * Hand-written parser for the jobs `$filter` (an OData v4 subset):
 *
 *   filter     := or END
 *   or         := and ( "or" and )*
 *   and        := unary ( "and" unary )*
 *   unary      := "not" unary | primary
 *   primary    := "(" or ")" | comparison
 *   comparison := PROPERTY CMP value | PROPERTY "in" "(" value ( "," value )* ")"
 *   CMP        := eq | ne | lt | le | gt | ge
 *
 * Keywords, property names and enum values are case-insensitive. `not` applies to the comparison or
 * parenthesised group that follows it (strict OData would parse `not state eq X` as `(not state) eq X`,
 * a type error; every user means `not (state eq X)`).
 *
 * Literals: single-quoted strings (`''` escapes a quote), bare GUIDs, bare ISO-8601 date-times, bare
 * enum identifiers, and `null` (only `name eq null` / `name ne null`, the one nullable property).
 *
 * Per-property rules (decided here, enforced at parse time so the SQL layer needs no checks):
 * - id, iTwinId, inputId, outputId: a GUID, quoted or bare; compared lower-case.
 * - name: a quoted string or null; exact comparison.
 * - email: a quoted string; compared lower-case (stored lower-case).
 * - type, state: an enum value, bare or quoted, any case; normalised to the canonical spelling.
 * - createdDateTime: ISO-8601 date-time with `Z` or `+hh:mm`/`-hh:mm`, bare or quoted; normalised to
 *   UTC `YYYY-MM-DDTHH:mm:ss.sssZ`. Fractional digits beyond milliseconds must be zero (the column has
 *   millisecond precision, so a finer instant could not be compared exactly as text).
 * - lt/le/gt/ge are allowed on id, iTwinId, outputId, name, email (text order) and createdDateTime
 *   (time order); they are rejected on type and state (enum order is meaningless) and on inputId (a job
 *   has several inputs, so an ordering on "the" input has no single meaning).
 *
 * Positions in error messages are 0-based character offsets into the filter text (as Microsoft.OData
 * reports them); the end of the filter is position `text.length`.
 *
 * Robustness: and/or chains are parsed with loops (recursion happens only for `(` and `not`), nesting
 * depth is bounded (`maxDepth`, default 32) and so is the text length (`maxLength`, default 8192), so a
 * hostile filter can neither overflow the stack here or in the SQL compiler nor produce huge queries.
 */
import { JOB_STATES, JOB_TYPES } from "../job.js";
import {
  COMPARISON_OPERATORS,
  FILTER_PROPERTIES,
  type ComparisonOperator,
  type FilterNode,
  type FilterProperty,
} from "./ast.js";

/** A malformed or unsupported filter; `message` says what was expected and where (`position`, 0-based). */
export class FilterSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = "FilterSyntaxError";
  }
}

export interface ParseFilterOptions {
  /** Longest accepted filter, in characters. Default 8192. */
  maxLength?: number;
  /** Deepest accepted nesting of parentheses and `not`. Default 32. */
  maxDepth?: number;
}

export const DEFAULT_MAX_FILTER_LENGTH = 8192;
export const DEFAULT_MAX_FILTER_DEPTH = 32;

type TokenKind = "word" | "string" | "lparen" | "rparen" | "comma" | "end";

interface Token {
  kind: TokenKind;
  /** Source text of the token (for strings: including quotes). */
  text: string;
  /** Unescaped value of a string token; the text for other tokens. */
  value: string;
  pos: number;
}

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);
const DELIMITERS = new Set([" ", "\t", "\n", "\r", "(", ")", ",", "'"]);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (WHITESPACE.has(c)) {
      i++;
    } else if (c === "(" || c === ")" || c === ",") {
      tokens.push({ kind: c === "(" ? "lparen" : c === ")" ? "rparen" : "comma", text: c, value: c, pos: i });
      i++;
    } else if (c === "'") {
      const start = i;
      let value = "";
      i++;
      for (;;) {
        const q = text.indexOf("'", i);
        if (q < 0) throw new FilterSyntaxError(`unterminated string starting at position ${start}`, start);
        value += text.slice(i, q);
        if (text[q + 1] === "'") {
          value += "'";
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      tokens.push({ kind: "string", text: text.slice(start, i), value, pos: start });
    } else {
      const start = i;
      while (i < n && !DELIMITERS.has(text[i])) i++;
      const word = text.slice(start, i);
      tokens.push({ kind: "word", text: word, value: word, pos: start });
    }
  }
  tokens.push({ kind: "end", text: "", value: "", pos: n });
  return tokens;
}

function describe(t: Token): string {
  if (t.kind === "end") return "the end of the filter";
  const shown = t.text.length > 40 ? `${t.text.slice(0, 40)}...` : t.text;
  return t.kind === "string" ? `string ${shown}` : `'${shown}'`;
}

const PROPERTY_BY_LOWER = new Map<string, FilterProperty>(FILTER_PROPERTIES.map((p) => [p.toLowerCase(), p]));
const OPERATOR_BY_LOWER = new Map<string, ComparisonOperator>(COMPARISON_OPERATORS.map((o) => [o, o]));
const TYPE_BY_LOWER = new Map<string, string>(JOB_TYPES.map((t) => [t.toLowerCase(), t]));
const STATE_BY_LOWER = new Map<string, string>(JOB_STATES.map((s) => [s.toLowerCase(), s]));

/** Properties on which lt/le/gt/ge are refused (see the module comment). */
const UNORDERED_PROPERTIES: ReadonlySet<FilterProperty> = new Set(["type", "state", "inputId"]);

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})$/i;
/** A date-time whose `+hh:mm` offset lost its `+` to URL decoding: `...T13:00:00` then `02:00`. */
const DATE_TIME_NO_OFFSET_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i;
const LOST_PLUS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)? \d{2}:\d{2}$/i;

/** Normalises an ISO-8601 date-time to UTC `YYYY-MM-DDTHH:mm:ss.sssZ`; returns a reason string when invalid. */
export function normaliseDateTime(text: string): { ok: true; value: string } | { ok: false; reason: string } {
  const m = DATE_TIME_RE.exec(text);
  if (!m) return { ok: false, reason: "not an ISO-8601 date-time with a time zone (e.g. 2024-06-24T13:00:00Z)" };
  const [, ys, mos, ds, hs, mis, ss, frac, zone] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs);
  const minute = Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  if (month < 1 || month > 12) return { ok: false, reason: `month ${mos} is out of range` };
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const maxDay = month === 2 ? (leap ? 29 : 28) : daysInMonth;
  if (day < 1 || day > maxDay) return { ok: false, reason: `day ${ds} is out of range` };
  if (hour > 23) return { ok: false, reason: `hour ${hs} is out of range` };
  if (minute > 59) return { ok: false, reason: `minute ${mis} is out of range` };
  if (second > 59) return { ok: false, reason: `second ${ss} is out of range` };
  let millis = 0;
  if (frac !== undefined) {
    if (/[1-9]/.test(frac.slice(3))) {
      return { ok: false, reason: "creation times have millisecond precision; digits after the third fractional digit must be 0" };
    }
    millis = Number(frac.slice(0, 3).padEnd(3, "0"));
  }
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== "Z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return { ok: false, reason: `time zone offset ${zone} is out of range` };
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, millis);
  const utc = new Date(d.getTime() - offsetMinutes * 60_000);
  const utcYear = utc.getUTCFullYear();
  if (utcYear < 0 || utcYear > 9999) return { ok: false, reason: "the instant is outside years 0000-9999 in UTC" };
  return { ok: true, value: utc.toISOString() };
}

class Parser {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly maxDepth: number,
  ) {}

  private peek(): Token {
    return this.tokens[this.i];
  }

  private next(): Token {
    const t = this.tokens[this.i];
    if (t.kind !== "end") this.i++;
    return t;
  }

  private isKeyword(t: Token, keyword: string): boolean {
    return t.kind === "word" && t.text.toLowerCase() === keyword;
  }

  parse(): FilterNode {
    const node = this.parseOr(0);
    const t = this.peek();
    if (t.kind === "rparen") throw new FilterSyntaxError(`unbalanced ')' at position ${t.pos}`, t.pos);
    if (t.kind !== "end") {
      throw new FilterSyntaxError(
        `expected 'and', 'or' or the end of the filter at position ${t.pos}, found ${describe(t)}`,
        t.pos,
      );
    }
    return node;
  }

  private parseOr(depth: number): FilterNode {
    const operands: FilterNode[] = [];
    const push = (n: FilterNode) => {
      // A parenthesised group of the same operator is spliced in (no spread: groups may be huge).
      if (n.kind === "or") for (const o of n.operands) operands.push(o);
      else operands.push(n);
    };
    push(this.parseAnd(depth));
    while (this.isKeyword(this.peek(), "or")) {
      this.next();
      push(this.parseAnd(depth));
    }
    return operands.length === 1 ? operands[0] : { kind: "or", operands };
  }

  private parseAnd(depth: number): FilterNode {
    const operands: FilterNode[] = [];
    const push = (n: FilterNode) => {
      // A parenthesised group of the same operator is spliced in (no spread: groups may be huge).
      if (n.kind === "and") for (const o of n.operands) operands.push(o);
      else operands.push(n);
    };
    push(this.parseUnary(depth));
    while (this.isKeyword(this.peek(), "and")) {
      this.next();
      push(this.parseUnary(depth));
    }
    return operands.length === 1 ? operands[0] : { kind: "and", operands };
  }

  private parseUnary(depth: number): FilterNode {
    let nots = 0;
    while (this.isKeyword(this.peek(), "not")) {
      const t = this.next();
      nots++;
      this.checkDepth(depth + nots, t.pos);
    }
    let node = this.parsePrimary(depth + nots);
    for (; nots > 0; nots--) node = { kind: "not", operand: node };
    return node;
  }

  private checkDepth(depth: number, pos: number): void {
    if (depth > this.maxDepth) {
      throw new FilterSyntaxError(
        `parentheses and 'not' nest more than ${this.maxDepth} levels deep at position ${pos}`,
        pos,
      );
    }
  }

  private parsePrimary(depth: number): FilterNode {
    const t = this.peek();
    if (t.kind === "lparen") {
      this.next();
      this.checkDepth(depth + 1, t.pos);
      const node = this.parseOr(depth + 1);
      const close = this.peek();
      if (close.kind !== "rparen") {
        throw new FilterSyntaxError(
          `expected ')' to close the '(' at position ${t.pos}, or 'and' / 'or', at position ${close.pos}, found ${describe(close)}`,
          close.pos,
        );
      }
      this.next();
      return node;
    }
    if (t.kind === "word") return this.parseComparison();
    throw new FilterSyntaxError(
      `expected a property name, 'not' or '(' at position ${t.pos}, found ${describe(t)}`,
      t.pos,
    );
  }

  private parseComparison(): FilterNode {
    const propTok = this.next();
    const property = PROPERTY_BY_LOWER.get(propTok.text.toLowerCase());
    if (property === undefined) {
      throw new FilterSyntaxError(
        `unknown property '${propTok.text}' at position ${propTok.pos}; expected one of ${FILTER_PROPERTIES.join(", ")}`,
        propTok.pos,
      );
    }
    const opTok = this.next();
    const opWord = opTok.kind === "word" ? opTok.text.toLowerCase() : "";
    if (opWord === "in") return this.parseInList(property, opTok);
    const op = OPERATOR_BY_LOWER.get(opWord);
    if (op === undefined) {
      throw new FilterSyntaxError(
        `expected a comparison operator (eq, ne, lt, le, gt, ge) or 'in' after ${property} at position ${opTok.pos}, found ${describe(opTok)}`,
        opTok.pos,
      );
    }
    if (op !== "eq" && op !== "ne" && UNORDERED_PROPERTIES.has(property)) {
      throw new FilterSyntaxError(
        `operator '${op}' cannot be used with ${property} (at position ${opTok.pos}); use eq, ne or in`,
        opTok.pos,
      );
    }
    const value = this.parseValue(property, op === "eq" || op === "ne" ? "nullable" : "ordered");
    return { kind: "compare", property, op, value };
  }

  private parseInList(property: FilterProperty, inTok: Token): FilterNode {
    const open = this.next();
    if (open.kind !== "lparen") {
      throw new FilterSyntaxError(
        `expected '(' after 'in' (at position ${inTok.pos}) at position ${open.pos}, found ${describe(open)}`,
        open.pos,
      );
    }
    const values = new Set<string>();
    for (;;) {
      values.add(this.parseValue(property, "list") as string);
      const sep = this.next();
      if (sep.kind === "rparen") break;
      if (sep.kind !== "comma") {
        throw new FilterSyntaxError(
          `expected ',' or ')' in the list opened at position ${open.pos}, at position ${sep.pos}, found ${describe(sep)}`,
          sep.pos,
        );
      }
    }
    return { kind: "in", property, values: [...values] };
  }

  /** Reads and normalises one literal for `property`; `context` says whether null is allowed. */
  private parseValue(property: FilterProperty, context: "nullable" | "ordered" | "list"): string | null {
    const t = this.next();
    if (t.kind !== "word" && t.kind !== "string") {
      throw new FilterSyntaxError(`expected a value for ${property} at position ${t.pos}, found ${describe(t)}`, t.pos);
    }
    if (t.kind === "word" && t.text.toLowerCase() === "null") {
      if (property === "name" && context === "nullable") return null;
      const why =
        property !== "name"
          ? `${property} is never null`
          : context === "list"
            ? "null is not allowed in an 'in' list (use name eq null)"
            : "null can only be compared with eq or ne";
      throw new FilterSyntaxError(`unexpected null at position ${t.pos}: ${why}`, t.pos);
    }
    switch (property) {
      case "id":
      case "iTwinId":
      case "inputId":
      case "outputId":
        if (!GUID_RE.test(t.value)) {
          throw new FilterSyntaxError(
            `expected a GUID (e.g. dc720f05-e5f7-448b-ae06-765de46f0af1) for ${property} at position ${t.pos}, found ${describe(t)}`,
            t.pos,
          );
        }
        return t.value.toLowerCase();
      case "name":
      case "email":
        if (t.kind !== "string") {
          throw new FilterSyntaxError(
            `expected a quoted string (e.g. 'text')${property === "name" ? " or null" : ""} for ${property} at position ${t.pos}, found ${describe(t)}`,
            t.pos,
          );
        }
        return property === "email" ? t.value.toLowerCase() : t.value;
      case "type":
      case "state": {
        const table = property === "type" ? TYPE_BY_LOWER : STATE_BY_LOWER;
        const canonical = table.get(t.value.toLowerCase());
        if (canonical === undefined) {
          throw new FilterSyntaxError(
            `unknown ${property} ${describe(t)} at position ${t.pos}; expected one of ${[...table.values()].join(", ")}`,
            t.pos,
          );
        }
        return canonical;
      }
      case "createdDateTime": {
        const r = normaliseDateTime(t.value);
        if (!r.ok) {
          // `+02:00` sent unencoded in a URL arrives as ` 02:00`: as a separate word, or inside quotes.
          const lostPlus =
            (t.kind === "word" && DATE_TIME_NO_OFFSET_RE.test(t.value) && /^\d{2}:\d{2}$/.test(this.peek().text)) ||
            (t.kind === "string" && LOST_PLUS_RE.test(t.value));
          const hint = lostPlus ? " (a '+' in a time zone offset must be URL-encoded as %2B)" : "";
          throw new FilterSyntaxError(
            `expected an ISO-8601 date-time (e.g. 2024-06-24T13:00:00Z) for createdDateTime at position ${t.pos}, found ${describe(t)}: ${r.reason}${hint}`,
            t.pos,
          );
        }
        return r.value;
      }
      default:
        // Every property is handled above; this keeps the switch exhaustive for the compiler.
        throw new Error(`unhandled filter property ${property satisfies never}`);
    }
  }
}

/** Parses a `$filter` value (already URL-decoded). Throws FilterSyntaxError when it is empty, too long or malformed. */
export function parseFilter(text: string, options: ParseFilterOptions = {}): FilterNode {
  const maxLength = options.maxLength ?? DEFAULT_MAX_FILTER_LENGTH;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_FILTER_DEPTH;
  if (text.length > maxLength) {
    throw new FilterSyntaxError(`the filter is ${text.length} characters long; at most ${maxLength} are allowed`, maxLength);
  }
  if (text.trim() === "") throw new FilterSyntaxError("a filter is required (the filter is empty)", 0);
  return new Parser(tokenize(text), maxDepth).parse();
}
