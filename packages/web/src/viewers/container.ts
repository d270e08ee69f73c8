/**
 * Files of a reality data through its container's SAS URL (`<origin>/blobs/<id>?sv=...&sig=...`). Viewers
 * resolve relative references (tiles of a tileset, tiles of a TileJSON) against a file's URL, which drops the
 * query: `withSas` puts the signature back on any URL inside the container.
 */
import { ContainerClient } from "@azure/storage-blob";

export interface ContainerFile {
  name: string;
  size: number;
  url: string;
}

export function fileUrl(containerUrl: string, name: string): string {
  const u = new URL(containerUrl);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}/${name.split("/").map(encodeURIComponent).join("/")}`;
  return u.toString();
}

export function withSas(containerUrl: string): (url: string) => string {
  const c = new URL(containerUrl);
  const prefix = `${c.origin}${c.pathname.replace(/\/+$/, "")}/`;
  return (url: string) => {
    if (!url.startsWith(prefix)) return url;
    const u = new URL(url);
    if (u.searchParams.has("sig")) return url;
    for (const [k, v] of c.searchParams) u.searchParams.set(k, v);
    return u.toString();
  };
}

export async function listFiles(containerUrl: string, limit = 5000): Promise<ContainerFile[]> {
  const container = new ContainerClient(containerUrl);
  const out: ContainerFile[] = [];
  for await (const b of container.listBlobsFlat()) {
    out.push({ name: b.name, size: b.properties.contentLength ?? 0, url: fileUrl(containerUrl, b.name) });
    if (out.length >= limit) break;
  }
  return out;
}
