// Bundles every widget module in src/widgets/ (one ES module per widget, every
// dependency inlined) into ../kino/static/, where the Python widgets load them.
// Files whose name starts with "_" are shared helpers, not entry points.
import { build } from "esbuild";
import { readdirSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, "src", "widgets");
const outDir = join(here, "..", "kino", "static");
mkdirSync(outDir, { recursive: true });

const entryPoints = readdirSync(srcDir)
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
  .map((f) => join(srcDir, f));

const watch = process.argv.includes("--watch");
const options = {
  entryPoints,
  outdir: outDir,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: !watch,
  sourcemap: false,
  legalComments: "none",
  loader: { ".css": "css" },
  logLevel: "info",
};

if (watch) {
  const { context } = await import("esbuild");
  const ctx = await context(options);
  await ctx.watch();
} else {
  await build(options);
}
