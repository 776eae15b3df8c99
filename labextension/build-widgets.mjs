// Bundles every widget module in src/widgets/<family>/ (one ES module per widget,
// every dependency inlined) into ../kino/static/<widget>.js, where the Python
// widgets of kino/ui/<family>/ load them. Files whose name starts with "_" are
// helpers, not entry points; widget names are unique across families.
import { build } from "esbuild";
import { readdirSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = join(here, "src", "widgets");
const outDir = join(here, "..", "kino", "static");
mkdirSync(outDir, { recursive: true });

const entryPoints = {};
for (const family of readdirSync(srcDir, { withFileTypes: true })) {
  if (!family.isDirectory()) continue;
  for (const file of readdirSync(join(srcDir, family.name))) {
    if (!file.endsWith(".ts") || file.startsWith("_")) continue;
    const name = file.slice(0, -3);
    if (name in entryPoints) {
      throw new Error(`widget name ${name} is used twice: ${entryPoints[name]} and ${family.name}/${file}`);
    }
    entryPoints[name] = join(srcDir, family.name, file);
  }
}

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
  // A warning here (an unbalanced brace in a stylesheet, say) is a broken look in the
  // browser that no test reads: fail the build instead.
  const result = await build(options);
  if (result.warnings.length > 0) {
    console.error(`build-widgets: ${result.warnings.length} warning(s); fix them`);
    process.exit(1);
  }
}
