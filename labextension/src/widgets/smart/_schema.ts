// The field schema of kino/ui/smart/cell.py's docstring, typed, and the small pure
// helpers the form needs (conditions, paths, values).

export type Attrs = Record<string, unknown>;

export interface BaseField {
  name: string;
  label?: string;
  type: "text" | "number" | "select" | "checkbox" | "list" | "upload";
  help?: string;
  /** Shown only when a sibling field holds one of the values. */
  when?: Record<string, unknown[]>;
}
export interface TextField extends BaseField {
  type: "text";
  placeholder?: string;
}
export interface NumberField extends BaseField {
  type: "number";
  min?: number;
  max?: number;
  step?: number;
  integer?: boolean;
}
export interface SelectField extends BaseField {
  type: "select";
  options: [unknown, string][];
}
export interface CheckboxField extends BaseField {
  type: "checkbox";
}
export interface ListField extends BaseField {
  type: "list";
  fields: Field[];
  item?: Attrs;
  add_label?: string;
}
export interface UploadField extends BaseField {
  type: "upload";
  accept?: string;
}
export type Field =
  | TextField
  | NumberField
  | SelectField
  | CheckboxField
  | ListField
  | UploadField;

/** Same JSON value (attributes are plain JSON). */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether a field's `when` holds for the attributes next to it. */
export function shown(field: Field, siblings: Attrs): boolean {
  if (!field.when) return true;
  return Object.entries(field.when).every(
    ([other, values]) =>
      Array.isArray(values) && values.some((v) => sameValue(v, siblings[other])),
  );
}

/** A copy of `attrs` with the value at a dotted path ("steps.2.column") replaced. */
export function setPath(attrs: Attrs, path: string[], value: unknown): Attrs {
  const [head, ...rest] = path;
  const copy: any = Array.isArray(attrs) ? [...attrs] : { ...attrs };
  copy[head] = rest.length === 0 ? value : setPath((copy[head] ?? {}) as Attrs, rest, value);
  return copy;
}

/** A number field's text as the value to send: null when empty or not a number. */
export function parseNumber(text: string, integer: boolean | undefined): number | null {
  if (text.trim() === "") return null;
  const n = Number(text);
  if (!Number.isFinite(n)) return null;
  return integer ? Math.round(n) : n;
}

/** A deep copy of plain JSON (a new list item from the schema's `item`). */
export function cloneJson<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value));
}
