/**
 * Tile images: RGBA pixels to JPEG or PNG with sharp (libvips encodes on the libuv thread pool, off the
 * thread that samples). JPEG has no alpha: transparent pixels take the background colour (white unless
 * one is given). PNG keeps transparency unless a background colour is given; fully opaque tiles are
 * written without an alpha channel.
 */
import sharp from "sharp";
import { TILE_SIZE } from "@realconv/formats";

export type TileFormat = "JPG" | "PNG";

export interface TileEncoding {
  readonly format: TileFormat;
  readonly jpgQuality: number;
  /** #RRGGBB, or undefined for the format's default. */
  readonly background?: string;
}

export const TILE_EXTENSION: Record<TileFormat, string> = { JPG: "jpg", PNG: "png" };

// Tiles are encoded once each: libvips' operation cache would only hold memory.
sharp.cache(false);

function opaque(rgba: Uint8Array): boolean {
  for (let i = 3; i < rgba.length; i += 4) if (rgba[i] !== 255) return false;
  return true;
}

export async function encodeTile(rgba: Uint8Array, e: TileEncoding): Promise<Buffer> {
  const image = sharp(rgba, { raw: { width: TILE_SIZE, height: TILE_SIZE, channels: 4 } });
  if (e.format === "JPG") return image.flatten({ background: e.background ?? "#ffffff" }).jpeg({ quality: e.jpgQuality }).toBuffer();
  if (e.background) return image.flatten({ background: e.background }).png().toBuffer();
  return (opaque(rgba) ? image.removeAlpha() : image).png().toBuffer();
}
