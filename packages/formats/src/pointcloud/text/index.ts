/** `@realconv/formats/text`: PTS and XYZ/TXT point files. */
export { openPts, ptsIntensityToU16 } from "./pts.js";
export { openXyz } from "./xyz.js";
export { TextPointReader, type TextReaderOptions, type TextLayout, type ColumnTarget } from "./engine.js";
export { parseNumber } from "./number.js";
