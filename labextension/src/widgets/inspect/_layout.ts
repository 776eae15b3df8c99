// How big a heatmap or an image is drawn: cells square when they fit, a long thin
// slice (a [333, 4] table) stretched along its short side so its columns can be
// read, and an image's pixels always square.

/** The largest side of a drawn heatmap, in CSS pixels. */
export const HEATMAP_MAX_SIDE_PX = 480;
/** A heatmap's short side is stretched to at least this (its cells then not square). */
export const HEATMAP_MIN_SIDE_PX = 160;
/** The largest heatmap cell: a 3×4 matrix is not drawn with 120-pixel cells. */
export const HEATMAP_MAX_CELL_PX = 40;
/** The largest side of a drawn image. */
export const IMAGE_MAX_SIDE_PX = 320;

export interface Box {
  width: number;
  height: number;
}

/**
 * The drawn size of a `rows` × `cols` heatmap. Square cells as large as fit in
 * `HEATMAP_MAX_SIDE_PX` (at most `HEATMAP_MAX_CELL_PX`); then a side shorter than
 * `HEATMAP_MIN_SIDE_PX` is stretched towards it, each cell at most
 * `HEATMAP_MAX_CELL_PX` along it.
 *
 * Example: `heatmapBox(8, 8)` is 320 × 320; `heatmapBox(167, 4)` (a [333, 4] table
 * in blocks of 2 rows) is 160 wide and 480 high instead of a 12-pixel strip.
 */
export function heatmapBox(rows: number, cols: number): Box {
  if (rows <= 0 || cols <= 0) return { width: 0, height: 0 };
  const cell = Math.min(HEATMAP_MAX_CELL_PX, HEATMAP_MAX_SIDE_PX / rows, HEATMAP_MAX_SIDE_PX / cols);
  const stretch = (n: number) =>
    Math.max(n * cell, Math.min(HEATMAP_MIN_SIDE_PX, n * HEATMAP_MAX_CELL_PX));
  return { width: Math.round(stretch(cols)), height: Math.round(stretch(rows)) };
}

/**
 * The drawn size of a `width` × `height` image: a whole number of screen pixels per
 * image pixel, so pixels stay square.
 *
 * Example: `imageBox(96, 64)` is 288 × 192 (3 pixels each).
 */
export function imageBox(width: number, height: number): Box {
  const k = Math.max(1, Math.floor(IMAGE_MAX_SIDE_PX / Math.max(width, height, 1)));
  return { width: width * k, height: height * k };
}

/**
 * Sizes `el` to `box` and keeps that aspect ratio when the output is narrower
 * (the stylesheet caps its width at 100%).
 */
export function sizeTo(el: HTMLElement, box: Box): void {
  el.style.width = `${box.width}px`;
  el.style.aspectRatio = `${box.width} / ${box.height}`;
}
