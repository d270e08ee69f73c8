// The app is served by `realconv serve` at `/`: index.html and hashed files under /assets, nothing from a CDN.
import { defineConfig } from "vite";

const server = process.env.REALCONV_DEV_SERVER ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // three, 3d-tiles-renderer and MapLibre are large on their own; they load with the viewer pages only.
    chunkSizeWarningLimit: 1500,
  },
  // `npm run dev -w @realconv/web`: the app with hot reload, the API of a running realconv behind it.
  server: {
    proxy: Object.fromEntries(["/reality-conversion", "/reality-management", "/blobs", "/itwins", "/app"].map((p) => [p, server])),
  },
});
