import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFilter } from "./parser.js";
import { iTwinScope } from "./scope.js";

const X = "dc720f05-e5f7-448b-ae06-765de46f0af1";
const Y = "2c8e4988-eb9b-4e5f-a903-8c7c18f3030a";
const Z = "019b18b4-e4c1-4211-b8bb-1bd26b8e955e";
const scope = (f: string) => iTwinScope(parseFilter(f));
const itwins = (...ids: string[]) => ({ kind: "itwins", ids });
const none = { kind: "none" };

test("filters confined to iTwins", () => {
  assert.deepEqual(scope(`iTwinId eq ${X}`), itwins(X));
  assert.deepEqual(scope(`iTwinId eq ${X.toUpperCase()}`), itwins(X));
  assert.deepEqual(scope(`iTwinId eq ${X} and state eq Success`), itwins(X));
  assert.deepEqual(scope(`state eq Success and (name eq 'a' and iTwinId eq '${X}')`), itwins(X));
  assert.deepEqual(scope(`iTwinId eq ${X} or iTwinId eq ${Y}`), itwins(X, Y));
  assert.deepEqual(scope(`iTwinId in (${X}, '${Y}')`), itwins(X, Y));
  assert.deepEqual(scope(`(iTwinId eq ${X} and state eq Success) or (iTwinId in (${Y}, ${Z}) and name eq null)`), itwins(X, Y, Z));
  assert.deepEqual(scope(`iTwinId eq ${X} or iTwinId eq ${X}`), itwins(X));
  // and: the intersection; a contradictory filter is confined to no iTwin at all (matches nothing).
  assert.deepEqual(scope(`iTwinId in (${X}, ${Y}) and iTwinId in (${Y}, ${Z})`), itwins(Y));
  assert.deepEqual(scope(`iTwinId eq ${X} and iTwinId eq ${Y}`), itwins());
  // Negation pushed down: not (ne) is eq; not (a or b) is (not a) and (not b).
  assert.deepEqual(scope(`not (iTwinId ne ${X})`), itwins(X));
  assert.deepEqual(scope(`not (iTwinId ne ${X} or state eq Success)`), itwins(X));
  assert.deepEqual(scope(`not not iTwinId eq ${X}`), itwins(X));
});

test("filters not confined to iTwins", () => {
  assert.deepEqual(scope("state eq Success"), none);
  assert.deepEqual(scope(`iTwinId eq ${X} or state eq Success`), none);
  assert.deepEqual(scope(`not (iTwinId eq ${X})`), none);
  assert.deepEqual(scope(`iTwinId ne ${X}`), none);
  assert.deepEqual(scope(`not (iTwinId in (${X}))`), none);
  assert.deepEqual(scope(`iTwinId gt ${X}`), none);
  assert.deepEqual(scope(`not (iTwinId eq ${X} and state eq Success)`), none);
  assert.deepEqual(scope(`id eq ${X} or outputId eq ${X} or inputId eq ${X}`), none);
  assert.deepEqual(scope(`(iTwinId eq ${X} or name eq 'a') and state eq Success`), none);
});
