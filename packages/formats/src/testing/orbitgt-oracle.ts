/** The `@itwin/core-orbitgt` reader of OPC files, for tests outside this package. */
export { readWithOrbitGt, type OrbitFile } from "../pointcloud/opc/orbitgt-oracle.js";
