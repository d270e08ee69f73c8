/** Paths inside a mesh's resources (3MX, 3D Tiles): always "/"-separated, relative to the dataset's root. */

/** `rel` resolved against the folder `dir` ("\\" read as "/", "." and ".." applied, no leading "/"). */
export function joinPath(dir: string, rel: string): string {
  const out: string[] = [];
  for (const part of `${dir}/${rel}`.replace(/\\/g, "/").split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

/** The folder of a resource path ("" at the root). */
export function dirname(path: string): string {
  const k = path.lastIndexOf("/");
  return k < 0 ? "" : path.slice(0, k);
}
