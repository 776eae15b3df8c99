// The anywidget model API, typed by each widget's synced traits: every widget
// declares an interface of its traits (mirroring the `sync=True` traits of its
// Python class in kino/ui/<family>/) and types `render` / `initialize` with
// `RenderProps<Traits>` / `InitializeProps<Traits>`, so `model.get("x")` has
// the trait's type.
import type { AnyModel } from "@anywidget/types";

export type { AnyModel, InitializeProps, RenderProps } from "@anywidget/types";

/** Subscribes to several `change:x` events; returns the unsubscribe function. */
export function watch<T extends Record<string, any>>(
  model: AnyModel<T>,
  names: (keyof T & string)[],
  fn: () => void,
): () => void {
  for (const n of names) model.on(`change:${n}`, fn);
  return () => {
    for (const n of names) model.off(`change:${n}`, fn);
  };
}
