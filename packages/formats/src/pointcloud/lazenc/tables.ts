/**
 * Context tables of LASzip (data, not code): they map (number of returns n, return number r) to
 * model contexts. They must be identical to the decoder's, so they are the LASzip values.
 * Row index n, column index r, flattened row-major.
 */

/** 3-bit n/r (POINT10): 16 contexts for intensity / x / y predictors. */
export const NUMBER_RETURN_MAP = Uint8Array.from([
  15, 14, 13, 12, 11, 10, 9, 8,
  14, 0, 1, 3, 6, 10, 10, 9,
  13, 1, 2, 4, 7, 11, 11, 10,
  12, 3, 4, 5, 8, 12, 12, 11,
  11, 6, 7, 8, 9, 13, 13, 12,
  10, 10, 11, 12, 13, 14, 14, 13,
  9, 10, 11, 12, 13, 14, 15, 14,
  8, 9, 10, 11, 12, 13, 14, 15,
]);

/** 3-bit n/r (POINT10): penetration level (8 contexts) for the z predictor. */
export const NUMBER_RETURN_LEVEL = Uint8Array.from([
  0, 1, 2, 3, 4, 5, 6, 7,
  1, 0, 1, 2, 3, 4, 5, 6,
  2, 1, 0, 1, 2, 3, 4, 5,
  3, 2, 1, 0, 1, 2, 3, 4,
  4, 3, 2, 1, 0, 1, 2, 3,
  5, 4, 3, 2, 1, 0, 1, 2,
  6, 5, 4, 3, 2, 1, 0, 1,
  7, 6, 5, 4, 3, 2, 1, 0,
]);

/** 4-bit n/r (POINT14): 6 contexts. */
export const NUMBER_RETURN_MAP_6CTX = Uint8Array.from([
  0, 1, 2, 3, 4, 5, 3, 4, 4, 5, 5, 5, 5, 5, 5, 5,
  1, 0, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
  2, 1, 2, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3,
  3, 3, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 3, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  5, 3, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  3, 3, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 3, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4, 4,
  4, 3, 4, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4, 4,
  5, 3, 4, 4, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4, 4,
  5, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 4, 4, 4,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 4, 4,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 4,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5,
  5, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5, 5,
]);

/** 4-bit n/r (POINT14): penetration level capped at 7 (8 contexts). */
export const NUMBER_RETURN_LEVEL_8CTX = (() => {
  // |n - r| capped at 7: the published table is exactly that
  const t = new Uint8Array(256);
  for (let n = 0; n < 16; n++) for (let r = 0; r < 16; r++) t[n * 16 + r] = Math.min(7, Math.abs(n - r));
  return t;
})();
