// Finds kino's curated notebooks (NN-name.ipynb), their titles and the dashboards
// beside them through the Jupyter server's own APIs, so the plugin needs no server
// extension. A title is read from the first few kilobytes of the file (a ranged
// request), never from the whole notebook: a saved notebook can weigh megabytes.
import { ServerConnection, type Contents } from "@jupyterlab/services";

export interface CuratedNotebook {
  path: string;
  name: string;
  title: string;
  rank: number;
}

export interface LearningPath {
  /** The folder the curated notebooks were found in ("" for the server root). */
  dir: string;
  notebooks: CuratedNotebook[];
  /** Voila dashboards in `<dir>/dashboards/`. */
  dashboards: CuratedNotebook[];
}

const CURATED = /^(\d{2})-[\w.-]+\.ipynb$/;

/** Folders searched in order: the server root (`make lab` serves notebooks/) and `notebooks/` (Binder). */
export const SEARCH_DIRS = ["", "notebooks"];

/** How much of a notebook is read for its title: nbformat writes "cells" first. */
export const TITLE_BYTES = 8192;

const HEADING = /^\s*#{1,2}\s+(.+?)\s*#*\s*$/m;
const JSON_STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const MARKDOWN_SOURCE = new RegExp(
  String.raw`"cell_type"\s*:\s*"markdown"[^{}]*?(?:\{[^{}]*\}[^{}]*?)?"source"\s*:\s*(` +
    JSON_STRING + String.raw`|\[\s*(?:` + JSON_STRING + String.raw`\s*,?\s*)*\])`,
  "g",
);

/**
 * The first `#` or `##` heading of the first Markdown cell that has one, read from
 * the start of a notebook's JSON text (which may be cut anywhere), or `fallback`.
 */
export function titleFromText(text: string, fallback: string): string {
  for (const match of text.matchAll(MARKDOWN_SOURCE)) {
    let source: string;
    try {
      const parsed = JSON.parse(match[1]) as string | string[];
      source = Array.isArray(parsed) ? parsed.join("") : parsed;
    } catch {
      continue;
    }
    const heading = source.match(HEADING);
    if (heading) return heading[1].replace(/[*_`]/g, "").trim();
  }
  return fallback;
}

/** "04-first-neural-network.ipynb" -> "First neural network". */
export function prettify(name: string): string {
  const stem = name.replace(/^\d{2}-/, "").replace(/\.ipynb$/, "");
  const words = stem.replace(/[-_]+/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The first `bytes` bytes of a file the server serves, asked for as a range and cut off there. */
export async function readHead(
  settings: ServerConnection.ISettings,
  path: string,
  bytes: number = TITLE_BYTES,
): Promise<string> {
  const url = `${settings.baseUrl.replace(/\/?$/, "/")}files/${path.split("/").map(encodeURIComponent).join("/")}`;
  const response = await ServerConnection.makeRequest(
    url,
    { headers: { Range: `bytes=0-${bytes - 1}` }, cache: "no-store" },
    settings,
  );
  if (!response.ok || !response.body) throw new Error(`${path}: ${response.status}`);
  // A ranged answer (206) is short: read it to its end, so the request completes. A
  // server that ignores the range sends the whole file: stop reading at `bytes`.
  const ranged = response.status === 206;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (ranged || length < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  if (!ranged) void reader.cancel().catch(() => undefined);
  const all = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(all.subarray(0, bytes));
}

async function list(contents: Contents.IManager, dir: string): Promise<Contents.IModel[]> {
  const listing = await contents.get(dir, { content: true });
  return (listing.content ?? []) as Contents.IModel[];
}

async function withTitles(
  settings: ServerConnection.ISettings,
  items: Contents.IModel[],
): Promise<CuratedNotebook[]> {
  return Promise.all(
    items.map(async (item) => {
      const match = item.name.match(CURATED);
      const rank = match ? Number(match[1]) : 0;
      let title = prettify(item.name);
      try {
        title = titleFromText(await readHead(settings, item.path), title);
      } catch {
        // Unreadable file: keep the name-based title.
      }
      return { path: item.path, name: item.name, title, rank };
    }),
  );
}

const byName = (a: Contents.IModel, b: Contents.IModel) => a.name.localeCompare(b.name);

/**
 * The learning path of the first folder of `SEARCH_DIRS` that has curated notebooks,
 * with titles, in name order, and its dashboards. Only folders that exist are asked
 * for, so a server without them logs no 404.
 */
export async function findLearningPath(
  contents: Contents.IManager,
  settings: ServerConnection.ISettings,
): Promise<LearningPath> {
  const empty = { dir: "", notebooks: [], dashboards: [] };
  let entries: Contents.IModel[];
  try {
    entries = await list(contents, "");
  } catch {
    return empty;
  }
  const subdirs = new Set(entries.filter((e) => e.type === "directory").map((e) => e.name));
  for (const dir of SEARCH_DIRS) {
    if (dir !== "") {
      if (!subdirs.has(dir)) continue;
      try {
        entries = await list(contents, dir);
      } catch {
        continue;
      }
    }
    const curated = entries
      .filter((e) => e.type === "notebook" && CURATED.test(e.name))
      .sort(byName);
    if (curated.length === 0) continue;
    let dashboards: Contents.IModel[] = [];
    if (entries.some((e) => e.type === "directory" && e.name === "dashboards")) {
      try {
        const inside = await list(contents, dir ? `${dir}/dashboards` : "dashboards");
        dashboards = inside.filter((e) => e.type === "notebook").sort(byName);
      } catch {
        dashboards = [];
      }
    }
    return {
      dir,
      notebooks: await withTitles(settings, curated),
      dashboards: await withTitles(settings, dashboards),
    };
  }
  return empty;
}
