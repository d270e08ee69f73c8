import { test } from "node:test";
import assert from "node:assert/strict";
import { parseXml, cdata, escapeXml, XmlError, child } from "./xml.js";

test("parses the E57 XML subset: declaration, attributes, CDATA, entities, empty elements, comments", () => {
  const root = parseXml(
    `<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><e57Root type="Structure" xmlns:nor='http://x?a=1&amp;b=2'>` +
      `<name type="String"><![CDATA[a <b> & ]]]]><![CDATA[> c]]></name>` +
      `<v type="Integer"/><t type="Float">  1.5e-3 </t><s type="String">x &lt;&#65;&#x42;&gt; y</s></e57Root>\n  \0\0`,
  );
  assert.equal(root.name, "e57Root");
  assert.equal(root.attrs["xmlns:nor"], "http://x?a=1&b=2");
  assert.equal(child(root, "name")!.text, "a <b> & ]]> c");
  assert.equal(child(root, "v")!.text, "");
  assert.equal(child(root, "t")!.text.trim(), "1.5e-3");
  assert.equal(child(root, "s")!.text, "x <AB> y");
});

test("cdata and escapeXml round trip through the parser", () => {
  const s = `odd ]]> text <&> "q" 'a'`;
  const root = parseXml(`<r a="${escapeXml(s)}">${cdata(s)}</r>`);
  assert.equal(root.attrs.a, s);
  assert.equal(root.text, s);
});

test("malformed XML throws XmlError with a position", () => {
  for (const bad of ["<a><b></a>", "<a>", "<a x=1/>", "<a><![CDATA[x</a>", "", "<a/><b/>", "<a>&bogus;</a>", "text<a/>"]) {
    assert.throws(() => parseXml(bad), (e: unknown) => e instanceof XmlError && e.position >= 0, bad);
  }
});

test("prune: named elements are checked but left out of the tree, counted in their parent", () => {
  const root = parseXml("<a><p><x>1</x></p><b>kept</b><p/><p><q><p/></q></p></a>", { prune: new Set(["p"]) });
  assert.deepEqual(root.children.map((c) => c.name), ["b"]);
  assert.equal(root.pruned, 3);
  assert.equal(root.children[0].text, "kept");
  assert.throws(() => parseXml("<a><p><x>1</y></p></a>", { prune: new Set(["p"]) }), XmlError);
});
