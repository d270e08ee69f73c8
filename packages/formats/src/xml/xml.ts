/**
 * A minimal XML parser and writer (elements, attributes, text, CDATA, comments, the XML declaration): what
 * E57 needs, and small enough to keep the package free of a general XML dependency.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data (text and CDATA) directly inside this element. */
  text: string;
  /** Children left out of the tree by `parseXml`'s `prune` option, counted. */
  pruned?: number;
}

export class XmlError extends Error {
  constructor(
    message: string,
    /** Character index in the XML text. */
    readonly position: number,
  ) {
    super(message);
    this.name = "XmlError";
  }
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(s: string, at: number): string {
  if (s.indexOf("&") < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      if (!Number.isFinite(code) || code > 0x10ffff) throw new XmlError(`bad character reference ${m}`, at);
      return String.fromCodePoint(code);
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new XmlError(`unknown entity ${m}`, at);
    return v;
  });
}

function isNameChar(c: number): boolean {
  // Letters, digits, '_', ':', '-', '.', and anything non-ASCII (E57 names are ASCII in practice).
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 95 ||
    c === 58 ||
    c === 45 ||
    c === 46 ||
    c > 127
  );
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * Parses a document and returns its root element. Throws XmlError on malformed input. Elements named in
 * `prune` are checked like the others but not kept (their parent counts them in `pruned`): documents that
 * hold millions of records (tie points) are read for their structure without a tree of every record.
 */
export function parseXml(src: string, options: { prune?: ReadonlySet<string> } = {}): XmlElement {
  let i = 0;
  const n = src.length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const prune = options.prune;
  // Depth within a pruned element: its descendants are not kept either.
  let pruning = 0;

  const skipUntil = (end: string, what: string): void => {
    const j = src.indexOf(end, i);
    if (j < 0) throw new XmlError(`unterminated ${what}`, i);
    i = j + end.length;
  };
  const readName = (): string => {
    const s = i;
    while (i < n && isNameChar(src.charCodeAt(i))) i++;
    if (i === s) throw new XmlError("expected a name", i);
    return src.slice(s, i);
  };
  const skipSpace = (): void => {
    while (i < n && isSpace(src.charCodeAt(i))) i++;
  };

  while (i < n) {
    const lt = src.indexOf("<", i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const text = src.slice(i, textEnd);
      if (stack.length > 0) {
        if (pruning === 0) stack[stack.length - 1].text += decodeEntities(text, i);
      }
      else if (text.trim() !== "" && text.replace(/\0/g, "").trim() !== "")
        throw new XmlError("text outside the root element", i);
      i = textEnd;
      if (lt < 0) break;
    }
    // i is at '<'
    if (src.startsWith("<?", i)) {
      skipUntil("?>", "processing instruction");
    } else if (src.startsWith("<!--", i)) {
      skipUntil("-->", "comment");
    } else if (src.startsWith("<![CDATA[", i)) {
      const s = i + 9;
      const j = src.indexOf("]]>", s);
      if (j < 0) throw new XmlError("unterminated CDATA", i);
      if (stack.length === 0) throw new XmlError("CDATA outside the root element", i);
      stack[stack.length - 1].text += src.slice(s, j);
      i = j + 3;
    } else if (src.startsWith("<!", i)) {
      skipUntil(">", "declaration");
    } else if (src.startsWith("</", i)) {
      i += 2;
      const name = readName();
      skipSpace();
      if (src.charCodeAt(i) !== 62) throw new XmlError("expected '>'", i);
      i++;
      const top = stack.pop();
      if (!top || top.name !== name) throw new XmlError(`mismatched end tag </${name}>`, i);
      if (pruning > 0) pruning--;
    } else {
      i++;
      const el: XmlElement = { name: readName(), attrs: {}, children: [], text: "" };
      let selfClosing = false;
      for (;;) {
        skipSpace();
        if (i >= n) throw new XmlError("unterminated start tag", i);
        const c = src.charCodeAt(i);
        if (c === 62) {
          i++;
          break;
        }
        if (c === 47 && src.charCodeAt(i + 1) === 62) {
          i += 2;
          selfClosing = true;
          break;
        }
        const an = readName();
        skipSpace();
        if (src.charCodeAt(i) !== 61) throw new XmlError("expected '=' after attribute name", i);
        i++;
        skipSpace();
        const q = src.charCodeAt(i);
        if (q !== 34 && q !== 39) throw new XmlError("expected a quoted attribute value", i);
        const j = src.indexOf(q === 34 ? '"' : "'", i + 1);
        if (j < 0) throw new XmlError("unterminated attribute value", i);
        el.attrs[an] = decodeEntities(src.slice(i + 1, j), i);
        i = j + 1;
      }
      const parent = stack[stack.length - 1];
      const pruned = pruning > 0 || (parent !== undefined && prune?.has(el.name) === true);
      if (pruned && pruning === 0) parent.pruned = (parent.pruned ?? 0) + 1;
      if (parent && !pruned) parent.children.push(el);
      else if (!parent && root) throw new XmlError("more than one root element", i);
      else if (!parent) root = el;
      if (!selfClosing) {
        stack.push(el);
        if (pruned) pruning++;
      }
    }
  }
  if (stack.length > 0) throw new XmlError(`unclosed element <${stack[stack.length - 1].name}>`, n);
  if (!root) throw new XmlError("no root element", 0);
  return root;
}

/** First child with that name. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (c.name === name) return c;
  return undefined;
}

/** Escapes text for an attribute value or element content. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) =>
    c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === "&" ? "&amp;" : c === '"' ? "&quot;" : "&apos;",
  );
}

/** Wraps a string in CDATA, splitting any "]]>" so the section stays well formed. */
export function cdata(s: string): string {
  return `<![CDATA[${s.split("]]>").join("]]]]><![CDATA[>")}]]>`;
}
