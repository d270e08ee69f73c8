/** `@realconv/formats/las`: LAS 1.0-1.4 headers, records, CRS records, reader and writers. */
export { readLasHeader, findVlr as findLasVlr, type LasHeader, type LasVlr } from "./header.js";
export { PDRF_BASE_LENGTH as LAS_PDRF_BASE_LENGTH, pdrfColumns as lasPdrfColumns, decodeRecords as decodeLasRecords, type ExtraBytesField as LasExtraBytesField, type RecordLayout as LasRecordLayout } from "./records.js";
export { resolveLasCrs, epsgFromWkt as epsgFromLasWkt, epsgFromGeoKeys as epsgFromLasGeoKeys, parseGeoKeys as parseLasGeoKeys, type LasCrsInfo, type GeoKeys as LasGeoKeys } from "./crs.js";
export { LasReader, openLas, type LasReadOptions, type RecordBlock as LasRecordBlock } from "./reader.js";
export { openLasOrLaz, looksLikeLas } from "./open.js";
export { LasWriter, writeLasStream, writeLasOnePass, type LasHeaderPatch, encodeLas, chooseLasFormat, chooseScaleOffset as chooseLasScaleOffset, type LasWriterOptions, type ExtraBytesSpec as LasExtraBytesSpec } from "./writer.js";
