/**
 * A small WKT (1 and 2) reader: just enough structure to split compound CRSs into horizontal and vertical parts and
 * to read vertical datums and units, which proj4 ignores. Horizontal parts are handed to proj4 as text slices, so
 * nothing is re-serialised (node positions index into the original text).
 */

export type WktValue = WktNode | string | number;

export interface WktNode {
  keyword: string;
  args: WktValue[];
  /** [start, end) of this node in the source text. */
  start: number;
  end: number;
}

export class WktSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at character ${position}`);
    this.name = "WktSyntaxError";
  }
}

export function isWktNode(v: WktValue | undefined): v is WktNode {
  return typeof v === "object" && v !== null;
}

/** Parses one WKT object (trailing whitespace allowed; a trailing NUL, as LAS VLRs carry, too). */
export function parseWkt(text: string): WktNode {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && (text.charCodeAt(i) <= 32 || text.charCodeAt(i) === 0)) i++;
  };
  const word = (): string => {
    const s = i;
    while (i < n && /[A-Za-z0-9_.+-]/.test(text[i])) i++;
    return text.slice(s, i);
  };
  const node = (depth: number): WktNode => {
    if (depth > 64) throw new WktSyntaxError("nesting too deep", i);
    ws();
    const start = i;
    const keyword = word();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(keyword)) throw new WktSyntaxError("expected a keyword", start);
    ws();
    const open = text[i];
    if (open !== "[" && open !== "(") throw new WktSyntaxError(`expected "[" after ${keyword}`, i);
    const close = open === "[" ? "]" : ")";
    i++;
    const args: WktValue[] = [];
    ws();
    if (text[i] === close) {
      i++;
      return { keyword: keyword.toUpperCase(), args, start, end: i };
    }
    for (;;) {
      ws();
      const c = text[i];
      if (c === '"') {
        // Quoted text; WKT2 escapes a quote by doubling it.
        let s = "";
        i++;
        for (;;) {
          if (i >= n) throw new WktSyntaxError("unterminated string", i);
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              s += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          s += text[i++];
        }
        args.push(s);
      } else {
        const s = i;
        const w = word();
        if (w === "") throw new WktSyntaxError("unexpected character", i);
        ws();
        if (text[i] === "[" || text[i] === "(") {
          i = s;
          args.push(node(depth + 1));
        } else {
          const num = Number(w);
          args.push(/^[+-]?(\d|\.\d)/.test(w) && Number.isFinite(num) ? num : w);
        }
      }
      ws();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        break;
      }
      throw new WktSyntaxError(`expected "," or "${close}"`, i);
    }
    return { keyword: keyword.toUpperCase(), args, start, end: i };
  };
  const root = node(0);
  ws();
  if (i < n) throw new WktSyntaxError("unexpected text after the WKT object", i);
  return root;
}

/** First direct child node with one of the keywords. */
export function child(node: WktNode, ...keywords: string[]): WktNode | undefined {
  for (const a of node.args) if (isWktNode(a) && keywords.includes(a.keyword)) return a;
  return undefined;
}

/** First node with one of the keywords anywhere below `node` (depth first), not entering `skip` keywords. */
export function descendant(node: WktNode, keywords: string[], skip: string[] = []): WktNode | undefined {
  for (const a of node.args) {
    if (!isWktNode(a)) continue;
    if (keywords.includes(a.keyword)) return a;
    if (skip.includes(a.keyword)) continue;
    const d = descendant(a, keywords, skip);
    if (d) return d;
  }
  return undefined;
}

/** "EPSG:5103" from AUTHORITY["EPSG","5103"] (WKT1) or ID["EPSG",5103] (WKT2) directly under `node`. */
export function authorityOf(node: WktNode | undefined): string | undefined {
  if (!node) return undefined;
  const a = child(node, "AUTHORITY", "ID");
  if (!a || a.args.length < 2) return undefined;
  return `${String(a.args[0]).toUpperCase()}:${String(a.args[1])}`;
}

/** The node's name (its first quoted argument). */
export function nameOf(node: WktNode | undefined): string | undefined {
  const v = node?.args[0];
  return typeof v === "string" ? v : undefined;
}
