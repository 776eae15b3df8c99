// The learner's own copies of the curated notebooks, as Livebook's Learn section
// keeps them: opening a notebook of the path opens its copy in COPIES_DIR (made on
// first open), so the originals are never edited, and the copy worked on last is
// where the learner got to.
import type { Contents } from "@jupyterlab/services";

/** The folder, at the server root, that holds the learner's copies. */
export const COPIES_DIR = "my-notebooks";

/** Where the copy of a curated notebook lives: `my-notebooks/<its file name>`. */
export function copyPathOf(name: string): string {
  return `${COPIES_DIR}/${name}`;
}

async function exists(contents: Contents.IManager, path: string): Promise<boolean> {
  try {
    await contents.get(path, { content: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of the learner's copy of `original`, made from the original the first time
 * (an existing copy, with the learner's work in it, is kept as it is).
 */
export async function ensureCopy(
  contents: Contents.IManager,
  original: { path: string; name: string },
): Promise<string> {
  const target = copyPathOf(original.name);
  if (await exists(contents, target)) return target;
  if (!(await exists(contents, COPIES_DIR))) {
    await contents.save(COPIES_DIR, { type: "directory" });
  }
  const source = await contents.get(original.path, { content: true, type: "notebook" });
  await contents.save(target, { type: "notebook", format: "json", content: source.content });
  return target;
}

/** The file name of the copy saved (or made) last, among `names`; null when there is none. */
export async function lastWorkedOn(
  contents: Contents.IManager,
  names: Set<string>,
): Promise<string | null> {
  let entries: Contents.IModel[];
  try {
    const root = await contents.get("", { content: true });
    const hasDir = ((root.content ?? []) as Contents.IModel[]).some(
      (e) => e.type === "directory" && e.name === COPIES_DIR,
    );
    if (!hasDir) return null;
    entries = ((await contents.get(COPIES_DIR, { content: true })).content ?? []) as Contents.IModel[];
  } catch {
    return null;
  }
  const copies = entries
    .filter((e) => names.has(e.name))
    .sort((a, b) => Date.parse(b.last_modified) - Date.parse(a.last_modified));
  return copies.length > 0 ? copies[0].name : null;
}
