// Finds kino's curated notebooks (NN-name.ipynb) and their titles through the
// Jupyter contents API, so the plugin needs no server extension of its own.
import type { Contents } from "@jupyterlab/services";

export interface CuratedNotebook {
  path: string;
  title: string;
  rank: number;
}

const CURATED = /^(\d{2})-[\w.-]+\.ipynb$/;

/** Folders searched in order: the server root (`make lab` serves notebooks/) and `notebooks/` (Binder). */
export const SEARCH_DIRS = ["", "notebooks"];

/** The first `# heading` of the notebook's first Markdown cell that has one. */
export function titleOf(model: Contents.IModel, fallback: string): string {
  const cells = (model.content?.cells ?? []) as { cell_type: string; source: string | string[] }[];
  for (const cell of cells) {
    if (cell.cell_type !== "markdown") continue;
    const source = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
    const match = source.match(/^\s*#{1,2}\s+(.+?)\s*#*\s*$/m);
    if (match) return match[1].replace(/[*_`]/g, "").trim();
  }
  return fallback;
}

function prettify(name: string): string {
  const stem = name.replace(/^\d{2}-/, "").replace(/\.ipynb$/, "");
  const words = stem.replace(/[-_]+/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

async function listCurated(
  contents: Contents.IManager,
  dir: string,
): Promise<{ items: Contents.IModel[]; subdirs: Set<string> }> {
  const listing = await contents.get(dir, { content: true });
  const entries = (listing.content ?? []) as Contents.IModel[];
  const items = entries
    .filter((item) => item.type === "notebook" && CURATED.test(item.name))
    .sort((a, b) => a.name.localeCompare(b.name));
  const subdirs = new Set(entries.filter((e) => e.type === "directory").map((e) => e.name));
  return { items, subdirs };
}

async function withTitle(contents: Contents.IManager, item: Contents.IModel): Promise<CuratedNotebook> {
  const rank = Number(item.name.slice(0, 2));
  try {
    const model = await contents.get(item.path, { content: true });
    return { path: item.path, title: titleOf(model, prettify(item.name)), rank };
  } catch {
    return { path: item.path, title: prettify(item.name), rank };
  }
}

/** Lists the curated notebooks of the first folder that has any, with titles, in path order.
 *  Only folders that exist are asked for, so a server without them logs no 404. */
export async function findCuratedNotebooks(
  contents: Contents.IManager,
): Promise<CuratedNotebook[]> {
  let root: { items: Contents.IModel[]; subdirs: Set<string> };
  try {
    root = await listCurated(contents, "");
  } catch {
    return [];
  }
  let items = root.items;
  for (const dir of SEARCH_DIRS.slice(1)) {
    if (items.length > 0) break;
    if (!root.subdirs.has(dir)) continue;
    try {
      items = (await listCurated(contents, dir)).items;
    } catch {
      items = [];
    }
  }
  return Promise.all(items.map((item) => withTitle(contents, item)));
}
