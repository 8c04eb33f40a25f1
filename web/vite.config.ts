import { defineConfig } from "vite";

// The bundle is embedded in the asklake binary (cli/build.rs builds it into OUT_DIR with --outDir) and
// served by `asklake serve` under a strict Content-Security-Policy: one script file, one style sheet, no
// inline code, nothing from another origin.
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  // `npm run dev` serves the app with hot reload against `asklake serve` on its default address.
  server: { host: "127.0.0.1", proxy: { "/api": "http://127.0.0.1:8080" } },
  build: {
    target: "es2022",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1024,
  },
});
