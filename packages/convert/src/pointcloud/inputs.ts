/**
 * Point-cloud inputs of a job: every file of the input datasets, recognised by its content (not its
 * name), opened as a LAS/LAZ reader. Only headers and VLRs are read here.
 */
import { openPointCloud, type LasReader } from "@realconv/formats";
import { ConversionError, throwIfAborted, type InputDataset, type InputFile } from "../runner.js";

export interface PointCloudInput {
  file: InputFile;
  reader: LasReader;
}

/** "las" when the file starts with the LAS signature (LAS or LAZ: the header tells which), else undefined. */
export async function sniffPointCloud(file: InputFile): Promise<"las" | undefined> {
  if (file.size < 4) return undefined;
  const b = await file.read(0, 4);
  return b.length >= 4 && b[0] === 0x4c && b[1] === 0x41 && b[2] === 0x53 && b[3] === 0x46 ? "las" : undefined;
}

export async function openPointCloudInputs(datasets: readonly InputDataset[], signal: AbortSignal): Promise<PointCloudInput[]> {
  const out: PointCloudInput[] = [];
  for (const ds of datasets) {
    const files = await ds.files();
    for (const file of files) {
      throwIfAborted(signal);
      const kind = await sniffPointCloud(file);
      if (kind !== "las") {
        throw new ConversionError(
          "InputData_Invalid",
          "Invalid input data",
          "The file %1 is not a LAS or LAZ point cloud; only LAS and LAZ inputs are supported for this conversion.",
          [file.path || file.name],
        );
      }
      out.push({ file, reader: await openPointCloud(file) });
    }
  }
  if (out.length === 0) {
    throw new ConversionError("InputData_Invalid", "Invalid input data", "The input reality data %1 holds no point cloud file.", [
      datasets.map((d) => d.id).join(", "),
    ]);
  }
  return out;
}
