import { test } from "node:test";
import assert from "node:assert/strict";
import { FilterSyntaxError, normaliseDateTime, parseFilter } from "./parser.js";
import type { FilterNode } from "./ast.js";

const G1 = "dc720f05-e5f7-448b-ae06-765de46f0af1";
const G2 = "482b2968-6a85-4e50-b05c-8acbf828c1bd";
const G3 = "14c03448-bea0-4d76-b53b-4b20bd3f4cbc";

const cmp = (property: string, op: string, value: string | null) => ({ kind: "compare", property, op, value });

/** Asserts a FilterSyntaxError at `position` whose message mentions `fragment` and the position. */
function fails(filter: string, position: number, fragment: string | RegExp, options?: Parameters<typeof parseFilter>[1]) {
  assert.throws(
    () => parseFilter(filter, options),
    (e: unknown) => {
      assert.ok(e instanceof FilterSyntaxError, `not a FilterSyntaxError: ${String(e)}`);
      assert.equal(e.position, position, `position for ${JSON.stringify(filter)}: ${e.message}`);
      if (typeof fragment === "string") assert.ok(e.message.includes(fragment), `message "${e.message}" lacks "${fragment}"`);
      else assert.match(e.message, fragment);
      return true;
    },
  );
}

test("the four samples from the list-jobs page, verbatim", () => {
  assert.deepEqual(parseFilter("iTwinId eq dc720f05-e5f7-448b-ae06-765de46f0af1"), cmp("iTwinId", "eq", G1));
  assert.deepEqual(
    parseFilter("inputId in ('482b2968-6a85-4e50-b05c-8acbf828c1bd', '14c03448-bea0-4d76-b53b-4b20bd3f4cbc')"),
    { kind: "in", property: "inputId", values: [G2, G3] },
  );
  assert.deepEqual(
    parseFilter("id eq 9e2d27cf-b695-47e9-b7f0-0d47dc3b88ad"),
    cmp("id", "eq", "9e2d27cf-b695-47e9-b7f0-0d47dc3b88ad"),
  );
  assert.deepEqual(parseFilter("createdDateTime gt 2024-06-24T13:00:00Z"), cmp("createdDateTime", "gt", "2024-06-24T13:00:00.000Z"));
});

test("every comparison operator, and in", () => {
  for (const op of ["eq", "ne", "lt", "le", "gt", "ge"]) {
    assert.deepEqual(parseFilter(`name ${op} 'a'`), cmp("name", op, "a"));
    assert.deepEqual(parseFilter(`createdDateTime ${op} 2024-01-02T03:04:05Z`), cmp("createdDateTime", op, "2024-01-02T03:04:05.000Z"));
    assert.deepEqual(parseFilter(`id ${op.toUpperCase()} ${G1}`), cmp("id", op, G1));
  }
  assert.deepEqual(parseFilter(`iTwinId in (${G1})`), { kind: "in", property: "iTwinId", values: [G1] });
  assert.deepEqual(parseFilter(`state IN (Queued,'active' ,  SUCCESS, queued)`), {
    kind: "in",
    property: "state",
    values: ["Queued", "Active", "Success"],
  });
});

test("property names and keywords are case-insensitive", () => {
  assert.deepEqual(parseFilter(`ITWINID Eq ${G1}`), cmp("iTwinId", "eq", G1));
  assert.deepEqual(parseFilter(`createddatetime GE 2024-06-24T13:00:00Z`), cmp("createdDateTime", "ge", "2024-06-24T13:00:00.000Z"));
  assert.deepEqual(parseFilter(`NOT name EQ NULL AND Email Ne 'A@B.C' OR outputid eq ${G2.toUpperCase()}`), {
    kind: "or",
    operands: [
      { kind: "and", operands: [{ kind: "not", operand: cmp("name", "eq", null) }, cmp("email", "ne", "a@b.c")] },
      cmp("outputId", "eq", G2),
    ],
  });
});

test("precedence: not > and > or; parentheses override; chains are flattened", () => {
  const a = "state eq Success";
  const b = "type eq MeshSampling";
  const c = "name eq 'c'";
  const A = cmp("state", "eq", "Success");
  const B = cmp("type", "eq", "MeshSampling");
  const C = cmp("name", "eq", "c");
  assert.deepEqual(parseFilter(`${a} or ${b} and ${c}`), { kind: "or", operands: [A, { kind: "and", operands: [B, C] }] });
  assert.deepEqual(parseFilter(`${a} and ${b} or ${c}`), { kind: "or", operands: [{ kind: "and", operands: [A, B] }, C] });
  assert.deepEqual(parseFilter(`(${a} or ${b}) and ${c}`), { kind: "and", operands: [{ kind: "or", operands: [A, B] }, C] });
  assert.deepEqual(parseFilter(`not ${a} and ${b}`), { kind: "and", operands: [{ kind: "not", operand: A }, B] });
  assert.deepEqual(parseFilter(`not (${a} and ${b})`), { kind: "not", operand: { kind: "and", operands: [A, B] } });
  assert.deepEqual(parseFilter(`not not ${a}`), { kind: "not", operand: { kind: "not", operand: A } });
  assert.deepEqual(parseFilter(`${a} or (${b} or ${c})`), { kind: "or", operands: [A, B, C] });
  assert.deepEqual(parseFilter(`((${a}))`), A);
  assert.deepEqual(parseFilter(`(${a})and(${b})`), { kind: "and", operands: [A, B] });
  assert.deepEqual(parseFilter(`not(${a})`), { kind: "not", operand: A });
});

test("whitespace: multiple spaces, tabs and newlines are tolerated", () => {
  assert.deepEqual(parseFilter(`  \tstate\t\teq   Success \n `), cmp("state", "eq", "Success"));
  assert.deepEqual(parseFilter(`name eq'a'`), cmp("name", "eq", "a"));
});

test("literal forms", () => {
  // GUIDs: bare or quoted, any case; normalised to lower case.
  assert.deepEqual(parseFilter(`id eq ${G1.toUpperCase()}`), cmp("id", "eq", G1));
  assert.deepEqual(parseFilter(`iTwinId eq '${G1.toUpperCase()}'`), cmp("iTwinId", "eq", G1));
  // Strings: '' escapes a quote; content is kept exactly (no trimming, no case change for name).
  assert.deepEqual(parseFilter(`name eq 'O''Brien'`), cmp("name", "eq", "O'Brien"));
  assert.deepEqual(parseFilter(`name eq ''''`), cmp("name", "eq", "'"));
  assert.deepEqual(parseFilter(`name eq ''`), cmp("name", "eq", ""));
  assert.deepEqual(parseFilter(`name eq ' A (b), c and d '`), cmp("name", "eq", " A (b), c and d "));
  assert.deepEqual(parseFilter(`email eq 'Alice@Example.COM'`), cmp("email", "eq", "alice@example.com"));
  // null, for the one nullable property.
  assert.deepEqual(parseFilter(`name eq null`), cmp("name", "eq", null));
  assert.deepEqual(parseFilter(`name ne NULL`), cmp("name", "ne", null));
  assert.deepEqual(parseFilter(`name eq 'null'`), cmp("name", "eq", "null"));
  // Enums: bare or quoted, any case, canonical spelling out.
  assert.deepEqual(parseFilter(`type eq pointcloudconversion`), cmp("type", "eq", "PointCloudConversion"));
  assert.deepEqual(parseFilter(`type eq 'CONTEXTSCENETILER'`), cmp("type", "eq", "ContextSceneTiler"));
  assert.deepEqual(parseFilter(`state ne terminatingoncancel`), cmp("state", "ne", "TerminatingOnCancel"));
  // Date-times: bare or quoted, fractions, offsets, lower-case t/z; normalised to UTC with milliseconds.
  const dt = (s: string) => (parseFilter(`createdDateTime eq ${s}`) as { value: string }).value;
  assert.equal(dt("2024-06-24T13:00:00Z"), "2024-06-24T13:00:00.000Z");
  assert.equal(dt("'2024-06-24T13:00:00Z'"), "2024-06-24T13:00:00.000Z");
  assert.equal(dt("2024-06-24T13:00Z"), "2024-06-24T13:00:00.000Z");
  assert.equal(dt("2024-06-24T13:00:00.5Z"), "2024-06-24T13:00:00.500Z");
  assert.equal(dt("2024-06-24T13:00:00.123Z"), "2024-06-24T13:00:00.123Z");
  assert.equal(dt("2024-06-24T13:00:00.1230000Z"), "2024-06-24T13:00:00.123Z");
  assert.equal(dt("2026-04-04T13:57:24.0000000+00:00"), "2026-04-04T13:57:24.000Z");
  assert.equal(dt("2024-06-24T15:30:00+02:30"), "2024-06-24T13:00:00.000Z");
  assert.equal(dt("2024-06-24T08:00:00-05:00"), "2024-06-24T13:00:00.000Z");
  assert.equal(dt("2024-12-31T23:30:00-01:00"), "2025-01-01T00:30:00.000Z");
  assert.equal(dt("2024-02-29t00:00:00z"), "2024-02-29T00:00:00.000Z");
  assert.equal(dt("0050-01-01T00:00:00Z"), "0050-01-01T00:00:00.000Z");
});

test("normaliseDateTime rejects impossible dates", () => {
  for (const bad of [
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-00-10T00:00:00Z",
    "2024-06-24T24:00:00Z",
    "2024-06-24T13:60:00Z",
    "2024-06-24T13:00:60Z",
    "2024-06-24T13:00:00+24:00",
    "2024-06-24T13:00:00",
    "2024-06-24",
    "24-06-24T13:00:00Z",
    "0000-01-01T00:00:00+01:00",
  ]) {
    assert.equal(normaliseDateTime(bad).ok, false, bad);
  }
  assert.equal(normaliseDateTime("2000-02-29T00:00:00Z").ok, true);
});

test("ordering operators on type, state and inputId are refused with a clear message", () => {
  fails("state gt Success", 6, "operator 'gt' cannot be used with state");
  fails("type le MeshSampling", 5, "cannot be used with type");
  fails(`inputId lt ${G1}`, 8, "cannot be used with inputId");
  // ...but eq / ne / in are fine, and ordering is fine elsewhere.
  assert.equal(parseFilter(`inputId ne ${G1}`).kind, "compare");
  assert.equal(parseFilter(`email ge 'm'`).kind, "compare");
  assert.equal(parseFilter(`outputId lt ${G1}`).kind, "compare");
});

test("errors name what was expected and where (0-based positions)", () => {
  fails("", 0, "required");
  fails("  \t ", 0, "required");
  fails("(state eq Success", 17, "expected ')' to close the '(' at position 0");
  fails("((state eq Success) or name eq 'x'", 34, "expected ')'");
  fails("state eq Success)", 16, "unbalanced ')' at position 16");
  fails("()", 1, "expected a property name, 'not' or '(' at position 1, found ')'");
  fails("state eq", 8, "expected a value for state at position 8, found the end of the filter");
  fails("state eq )", 9, "expected a value for state at position 9");
  fails("name eq 'a' and", 15, "expected a property name, 'not' or '(' at position 15, found the end of the filter");
  fails("foo eq 1", 0, "unknown property 'foo' at position 0");
  fails("state eq Success and userId eq x", 21, "unknown property 'userId' at position 21");
  fails("iTwinId X", 8, "expected a comparison operator (eq, ne, lt, le, gt, ge) or 'in' after iTwinId at position 8, found 'X'");
  fails("iTwinId == X", 8, "expected a comparison operator");
  fails("iTwinId", 7, "expected a comparison operator");
  fails("id eq dc720f05-e5f7-448b-ae06-765de46f0af", 6, "expected a GUID");
  fails("id eq 'not-a-guid'", 6, "expected a GUID (e.g. dc720f05-e5f7-448b-ae06-765de46f0af1) for id at position 6, found string 'not-a-guid'");
  fails(`iTwinId eq {${G1}}`, 11, "expected a GUID");
  fails("createdDateTime gt 2024-13-01T00:00:00Z", 19, "month 13 is out of range");
  fails("createdDateTime gt 2023-02-29T00:00:00Z", 19, "day 29 is out of range");
  fails("createdDateTime gt 2024-06-24", 19, "expected an ISO-8601 date-time");
  fails("createdDateTime gt 2024-06-24T13:00:00", 19, "time zone");
  fails("createdDateTime gt 2024-06-24T13:00:00.0001Z", 19, "millisecond precision");
  fails("createdDateTime gt 'yesterday'", 19, "expected an ISO-8601 date-time");
  fails("name eq 'O''Brien", 8, "unterminated string starting at position 8");
  fails("name eq 'a' 'b'", 12, "expected 'and', 'or' or the end of the filter at position 12, found string 'b'");
  fails("state eq Success garbage", 17, "expected 'and', 'or' or the end of the filter at position 17, found 'garbage'");
  fails("state eq Success and", 20, "expected a property name");
  fails("state eq Succeeded", 9, "unknown state 'Succeeded' at position 9; expected one of Queued, Active");
  fails("type eq PCConversion", 8, "unknown type 'PCConversion'");
  fails("name eq Alpha", 8, "expected a quoted string (e.g. 'text') or null for name at position 8");
  fails("email eq a@b.c", 9, "expected a quoted string");
  fails("iTwinId eq null", 11, "iTwinId is never null");
  fails("name gt null", 8, "null can only be compared with eq or ne");
  fails("name in ('a', null)", 14, "null is not allowed in an 'in' list");
  fails(`iTwinId in ${G1}`, 11, "expected '(' after 'in'");
  fails(`iTwinId in ()`, 12, "expected a value for iTwinId at position 12");
  fails(`iTwinId in ('${G1}' '${G2}')`, 51, "expected ',' or ')' in the list opened at position 11");
  fails(`iTwinId in ('${G1}',)`, 51, "expected a value");
  fails(`iTwinId in ('${G1}'`, 50, "expected ',' or ')'");
  fails("not", 3, "expected a property name");
  fails("and state eq Success", 0, "unknown property 'and'");
});

test("a '+' lost to URL decoding in an offset gets a hint", () => {
  fails("createdDateTime gt 2024-06-24T13:00:00 02:00", 19, "%2B");
  fails("createdDateTime gt '2024-06-24T13:00:00 02:00'", 19, "%2B");
  fails("createdDateTime gt 2024-06-24T13:00:00Z 02:00", 40, "expected 'and', 'or'");
});

test("length and nesting are bounded", () => {
  const long = `name eq '${"x".repeat(8192)}'`;
  fails(long, 8192, "at most 8192 are allowed");
  assert.equal(parseFilter(long, { maxLength: 9000 }).kind, "compare");
  const nested = (n: number) => `${"(".repeat(n)}state eq Success${")".repeat(n)}`;
  assert.equal(parseFilter(nested(32)).kind, "compare");
  fails(nested(33), 32, "nest more than 32 levels deep at position 32");
  fails(`${"not ".repeat(33)}state eq Success`, 128, "nest more than 32 levels");
  fails(`${"(not ".repeat(17)}state eq Success${")".repeat(17)}`, 80, "nest more than 32 levels");
  fails(nested(5), 2, "nest more than 2 levels", { maxDepth: 2 });
});

test("a 10 000-term filter parses without recursion trouble into flat and/or lists", () => {
  const terms = Array.from({ length: 10_000 }, (_, i) => `name eq 'n${i}'`);
  const or = parseFilter(terms.join(" or "), { maxLength: Infinity });
  assert.equal(or.kind, "or");
  assert.equal((or as Extract<FilterNode, { kind: "or" }>).operands.length, 10_000);
  // Alternating and/or: or of 5 000 two-term ands.
  const mixed = parseFilter(terms.map((t, i) => (i === 0 ? t : `${i % 2 ? "and" : "or"} ${t}`)).join(" "), { maxLength: Infinity });
  assert.equal(mixed.kind, "or");
  assert.equal((mixed as Extract<FilterNode, { kind: "or" }>).operands.length, 5_000);
  // The default bound refuses it, cheaply.
  fails(terms.join(" or "), 8192, "at most 8192");
});
