// Bundles every widget module in src/widgets/<family>/ (one ES module per widget,
// every dependency inlined) into ../kino/static/<widget>.js, where the Python
// widgets of kino/ui/<family>/ load them. Files whose name starts with "_" are
// helpers, not entry points; widget names are unique across families.
//
// The same files are copied into the lab extension's static folder
// (../kino/labextension/static/widgets/), which JupyterLab and Voila serve: a saved
// notebook imports its widgets' modules from there instead of carrying a copy each
// (see docs/architecture.md, "How a widget's module reaches the page"). Run this
// after `build:labextension`, which empties that folder.
import { build } from "esbuild";
import { readdirSync, mkdirSync, copyFileSync, existsSync, lstatSync } from "node:fs";
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
  copyIntoLabExtension();
}

function copyIntoLabExtension() {
  const targets = [join(here, "..", "kino", "labextension", "static", "widgets")];
  // The editable install copies the lab extension into .venv (a copy, not a symlink:
  // Voila refuses symlinks), so refresh that copy too, or a reopened notebook would
  // import the modules of an earlier build.
  const installed = join(here, "..", ".venv", "share", "jupyter", "labextensions", "jupyter-kino");
  if (existsSync(installed) && !lstatSync(installed).isSymbolicLink()) {
    targets.push(join(installed, "static", "widgets"));
  }
  const built = readdirSync(outDir).filter((f) => f.endsWith(".js") || f.endsWith(".css"));
  for (const target of targets) {
    mkdirSync(target, { recursive: true });
    for (const file of built) copyFileSync(join(outDir, file), join(target, file));
  }
}
