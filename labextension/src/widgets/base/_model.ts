// The slice of the anywidget model API kino's widgets use.
export interface Model {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  on(event: string, fn: (...args: any[]) => void): void;
  off(event: string, fn: (...args: any[]) => void): void;
  send(content: unknown, callbacks?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): void;
}

/** Subscribes to several `change:x` events; returns the unsubscribe function. */
export function watch(model: Model, names: string[], fn: () => void): () => void {
  for (const n of names) model.on(`change:${n}`, fn);
  return () => {
    for (const n of names) model.off(`change:${n}`, fn);
  };
}
