/** A file written as a stream then patched (headers known at the end), gathered in memory: tests, small files. */
export async function patchedBytes(stream: AsyncIterable<Uint8Array>, patches: () => readonly { offset: number; bytes: Uint8Array }[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const b of stream) parts.push(b);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  for (const p of patches()) out.set(p.bytes, p.offset);
  return out;
}

/**
 * A file's bytes as a stream whose generator returns, at its end, the patches to write over them; the
 * patches are then known through `patches()` (which throws before the stream has ended).
 */
export function patchedStream<P>(writer: string, body: () => AsyncGenerator<Uint8Array, P[]>): { stream: AsyncIterable<Uint8Array>; patches: () => P[] } {
  let patches: P[] | undefined;
  async function* stream(): AsyncGenerator<Uint8Array> {
    patches = yield* body();
  }
  return {
    stream: stream(),
    patches: () => {
      if (!patches) throw new Error(`${writer}: the patches are known once the stream has ended`);
      return patches;
    },
  };
}
