// Keeps a parent's children in a given order without detaching the ones already
// there: a detached element loses the keyboard focus, so a redraw that re-appended
// the slice slider left the next key press with nowhere to go.

/**
 * Makes `parent`'s children exactly `children` (nulls skipped), in order. Children
 * that stay keep their place: the others are removed first and the new ones are
 * inserted around them, so an element kept in the same relative order is never moved.
 *
 * Example: `keepChildren(root, [header, controls, body])` after `body` was rebuilt
 * swaps only the old body for the new one; `controls` (and its focused slider) stays.
 */
export function keepChildren(parent: HTMLElement, children: (Element | null | undefined)[]): void {
  const wanted = children.filter((c): c is Element => c !== null && c !== undefined);
  const keep = new Set<Element>(wanted);
  for (const child of [...parent.children]) {
    if (!keep.has(child)) child.remove();
  }
  wanted.forEach((child, i) => {
    const here = parent.children[i] ?? null;
    if (here !== child) parent.insertBefore(child, here);
  });
}
