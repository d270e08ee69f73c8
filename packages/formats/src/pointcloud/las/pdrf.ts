/** Bytes of each LAS point data record format (0-10) without extra bytes. */
export const PDRF_BASE_LENGTH = [20, 28, 26, 34, 57, 63, 30, 36, 38, 59, 67] as const;
