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

/** The learner's copies (the entries of COPIES_DIR), or null when the folder does not exist.
 *  Listing, never probing a path, so a first visit logs no 404 in the console. */
async function listCopies(contents: Contents.IManager): Promise<Contents.IModel[] | null> {
  const root = ((await contents.get("", { content: true })).content ?? []) as Contents.IModel[];
  if (!root.some((e) => e.type === "directory" && e.name === COPIES_DIR)) return null;
  return ((await contents.get(COPIES_DIR, { content: true })).content ?? []) as Contents.IModel[];
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
  const copies = await listCopies(contents);
  if (copies?.some((e) => e.name === original.name)) return target;
  if (copies === null) await contents.save(COPIES_DIR, { type: "directory" });
  const source = await contents.get(original.path, { content: true, type: "notebook" });
  await contents.save(target, { type: "notebook", format: "json", content: source.content });
  return target;
}

/** The file name of the copy saved (or made) last, among `names`; null when there is none. */
export async function lastWorkedOn(
  contents: Contents.IManager,
  names: Set<string>,
): Promise<string | null> {
  let entries: Contents.IModel[] | null;
  try {
    entries = await listCopies(contents);
  } catch {
    return null;
  }
  const copies = (entries ?? [])
    .filter((e) => names.has(e.name))
    .sort((a, b) => Date.parse(b.last_modified) - Date.parse(a.last_modified));
  return copies.length > 0 ? copies[0].name : null;
}
