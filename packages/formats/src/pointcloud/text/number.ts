/**
 * Decimal number parsing straight from bytes (ASCII), so text point clouds never build a JS string per line or token.
 * Results are identical to `Number(text)`: the fast path (mantissa < 2^53, |power of ten| <= 22) is exact by the
 * classic Clinger argument (one correctly rounded operation on exact operands); anything else goes through `Number`.
 */

const POW10 = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
  1e21, 1e22,
];
const MAX_EXACT = 2 ** 53;

const latin1 = new TextDecoder("latin1");

/** Decodes bytes [start, end) as text (for messages and slow paths). */
export function bytesText(bytes: Uint8Array, start: number, end: number): string {
  return latin1.decode(bytes.subarray(start, end));
}

/**
 * Parses the token bytes[start, end) as a decimal number. Returns NaN when the token is not a number
 * (callers that must tell "nan" tokens from garbage use `isNumberToken`).
 */
export function parseNumber(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  if (i >= end) return NaN;
  let neg = false;
  let c = bytes[i];
  if (c === 45 /* - */ || c === 43 /* + */) {
    neg = c === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let fracDigits = 0;
  let sawDigit = false;
  // integer part
  while (i < end) {
    c = bytes[i] - 48;
    if (c < 0 || c > 9) break;
    sawDigit = true;
    if (mantissa !== 0 || c !== 0) digits++;
    mantissa = mantissa * 10 + c;
    i++;
  }
  if (i < end && bytes[i] === 46 /* . */) {
    i++;
    while (i < end) {
      c = bytes[i] - 48;
      if (c < 0 || c > 9) break;
      sawDigit = true;
      if (mantissa !== 0 || c !== 0) digits++;
      mantissa = mantissa * 10 + c;
      fracDigits++;
      i++;
    }
  }
  if (!sawDigit) return slowParse(bytes, start, end);
  let exp = 0;
  if (i < end && (bytes[i] === 101 || bytes[i] === 69) /* e E */) {
    i++;
    let expNeg = false;
    if (i < end && (bytes[i] === 45 || bytes[i] === 43)) {
      expNeg = bytes[i] === 45;
      i++;
    }
    const expStart = i;
    while (i < end) {
      c = bytes[i] - 48;
      if (c < 0 || c > 9) break;
      if (exp < 100000) exp = exp * 10 + c;
      i++;
    }
    if (i === expStart) return NaN;
    if (expNeg) exp = -exp;
  }
  if (i !== end) return NaN;
  const scale = exp - fracDigits;
  // Fast path only while every operand is exact; 15 significant digits keep mantissa well under 2^53.
  if (digits <= 15 && mantissa < MAX_EXACT && scale >= -22 && scale <= 22) {
    const v = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
    return neg ? -v : v;
  }
  return Number(bytesText(bytes, start, end));
}

/** nan / inf / infinity (any case, optional sign), as some PLY and XYZ writers emit them. */
function slowParse(bytes: Uint8Array, start: number, end: number): number {
  if (end - start > 9) return NaN;
  const t = bytesText(bytes, start, end).toLowerCase();
  switch (t) {
    case "nan":
    case "+nan":
    case "-nan":
      return NaN;
    case "inf":
    case "+inf":
    case "infinity":
    case "+infinity":
      return Infinity;
    case "-inf":
    case "-infinity":
      return -Infinity;
    default:
      return NaN;
  }
}

/** True when the token is a number `parseNumber` accepts, including nan/inf spellings. */
export function isNumberToken(bytes: Uint8Array, start: number, end: number): boolean {
  if (!Number.isNaN(parseNumber(bytes, start, end))) return true;
  if (end - start > 4) return false;
  const t = bytesText(bytes, start, end).toLowerCase();
  return t === "nan" || t === "+nan" || t === "-nan";
}
