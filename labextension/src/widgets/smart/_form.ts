// Draws a smart cell's form from its field schema. Every value reaches the DOM as
// textContent or a property, never as HTML.
import { h } from "../base/_dom";
import {
  type Attrs,
  type Field,
  type ListField,
  type NumberField,
  type SelectField,
  type UploadField,
  cloneJson,
  parseNumber,
  sameValue,
  shown,
} from "./_schema";

export interface FormContext {
  disabled: boolean;
  /** The error and the dotted path of the field it belongs to ("" or unknown: the form's). */
  error: string;
  errorPath: string;
  /** Status lines of uploads in flight, by field name. */
  uploads: Record<string, string>;
  /** Set the value at `path`; `typing` (text fields) waits for a pause before sending. */
  change(path: (string | number)[], value: unknown, typing?: boolean): void;
  /** After the next redraw, focus the first of these (data-path) that can take it. */
  focusNext(paths: string[]): void;
  upload(field: UploadField, file: File): void;
}

let nextId = 0;

/** The form's elements for `fields` over `values`; paths start with `prefix`. */
export function drawFields(
  fields: Field[],
  values: Attrs,
  prefix: (string | number)[],
  ctx: FormContext,
): { nodes: HTMLElement[]; placedError: boolean } {
  const nodes: HTMLElement[] = [];
  let placedError = false;
  for (const field of fields) {
    if (!field || typeof field.name !== "string" || !shown(field, values)) continue;
    const path = [...prefix, field.name];
    const key = path.join(".");
    const id = `kino-sc-${++nextId}`;
    const row = h("div", {
      class: `kino-sc-field kino-sc-field-${field.type}`,
      "data-path": key,
    });
    const label = h("label", { class: "kino-sc-label", for: id }, field.label ?? field.name);
    const value = values[field.name];
    let control: HTMLElement;
    let inner = { placedError: false };
    switch (field.type) {
      case "number":
        control = numberInput(field, value, path, ctx);
        break;
      case "select":
        control = selectInput(field, value, path, ctx);
        break;
      case "checkbox":
        control = checkbox(value, path, ctx);
        break;
      case "list":
        ({ control, inner } = listInput(field, value, path, ctx));
        break;
      case "upload":
        control = uploadInput(field, value, ctx);
        break;
      default:
        control = textInput(field as Field & { placeholder?: string }, value, path, ctx);
    }
    const input =
      field.type === "list"
        ? null
        : control.matches("input, select")
          ? control
          : control.querySelector("input");
    if (input) {
      input.id = id;
      input.setAttribute("data-path", key);
    }
    if (field.type === "checkbox") row.append(h("div", { class: "kino-sc-check" }, control, label));
    else row.append(label, control);
    if (field.help) row.append(h("div", { class: "kino-sc-help" }, field.help));
    if (ctx.error && ctx.errorPath === key) {
      row.classList.add("kino-sc-invalid");
      row.append(h("div", { class: "kino-sc-error", role: "alert" }, ctx.error));
      placedError = true;
    }
    placedError ||= inner.placedError;
    nodes.push(row);
  }
  return { nodes, placedError };
}

function textInput(
  field: Field & { placeholder?: string },
  value: unknown,
  path: (string | number)[],
  ctx: FormContext,
): HTMLInputElement {
  const input = h("input", { type: "text", class: "kino-sc-input", spellcheck: "false" });
  input.value = value === null || value === undefined ? "" : String(value);
  if (field.placeholder) input.placeholder = field.placeholder;
  input.disabled = ctx.disabled;
  input.addEventListener("input", () => ctx.change(path, input.value, true));
  return input;
}

function numberInput(
  field: NumberField,
  value: unknown,
  path: (string | number)[],
  ctx: FormContext,
): HTMLInputElement {
  const input = h("input", { type: "number", class: "kino-sc-input" });
  if (field.min !== undefined && field.min !== null) input.min = String(field.min);
  if (field.max !== undefined && field.max !== null) input.max = String(field.max);
  input.step = field.step !== undefined ? String(field.step) : field.integer ? "1" : "any";
  input.value = typeof value === "number" ? String(value) : "";
  input.disabled = ctx.disabled;
  const commit = () => ctx.change(path, parseNumber(input.value, field.integer));
  input.addEventListener("change", commit);
  input.addEventListener("keydown", (event) => event.key === "Enter" && commit());
  return input;
}

function selectInput(
  field: SelectField,
  value: unknown,
  path: (string | number)[],
  ctx: FormContext,
): HTMLSelectElement {
  const select = h("select", { class: "kino-sc-input" });
  const options = Array.isArray(field.options) ? field.options : [];
  const current = options.findIndex((opt) => sameValue(opt[0], value));
  if (current < 0) {
    const none = h("option", { value: "" }, options.length ? "Choose…" : "(nothing to choose)");
    none.disabled = true;
    select.append(none);
  }
  options.forEach(([, label], i) =>
    select.append(h("option", { value: String(i) }, String(label))),
  );
  select.value = current < 0 ? "" : String(current);
  select.disabled = ctx.disabled;
  select.addEventListener("change", () => {
    const picked = options[Number(select.value)];
    if (picked) ctx.change(path, picked[0]);
  });
  return select;
}

function checkbox(value: unknown, path: (string | number)[], ctx: FormContext): HTMLInputElement {
  const input = h("input", { type: "checkbox", class: "kino-sc-checkbox" });
  input.checked = value === true;
  input.disabled = ctx.disabled;
  input.addEventListener("change", () => ctx.change(path, input.checked));
  return input;
}

function listInput(
  field: ListField,
  value: unknown,
  path: (string | number)[],
  ctx: FormContext,
): { control: HTMLElement; inner: { placedError: boolean } } {
  const items: Attrs[] = Array.isArray(value) ? (value as Attrs[]) : [];
  const box = h("div", { class: "kino-sc-list" });
  let placedError = false;
  const key = path.join(".");
  const itemKey = (i: number) => `${key}.${i}`;
  // Keyboard users keep their place: the moved item's button, the next item, the new one.
  const move = (from: number, to: number, tool: string, other: string) => {
    const next = [...items];
    const [item] = next.splice(from, 1);
    next.splice(to, 0, item);
    ctx.focusNext([`${itemKey(to)}:${tool}`, `${itemKey(to)}:${other}`]);
    ctx.change(path, next);
  };
  const remove = (i: number) => {
    ctx.focusNext([`${itemKey(Math.min(i, items.length - 2))}:remove`, `${key}:add`]);
    ctx.change(path, items.filter((_, j) => j !== i));
  };
  items.forEach((item, i) => {
    const tools = h("div", { class: "kino-sc-item-tools" });
    const button = (
      tool: string,
      text: string,
      title: string,
      action: () => void,
      enabled: boolean,
    ) => {
      const b = h(
        "button",
        {
          type: "button",
          class: "kino-sc-icon",
          title,
          "aria-label": title,
          "data-path": `${itemKey(i)}:${tool}`,
        },
        text,
      );
      b.disabled = ctx.disabled || !enabled;
      b.addEventListener("click", action);
      tools.append(b);
    };
    button("up", "↑", "Move up", () => move(i, i - 1, "up", "down"), i > 0);
    button("down", "↓", "Move down", () => move(i, i + 1, "down", "up"), i < items.length - 1);
    button("remove", "✕", "Remove", () => remove(i), true);
    const drawn = drawFields(field.fields ?? [], item ?? {}, [...path, i], ctx);
    placedError ||= drawn.placedError;
    box.append(
      h(
        "div",
        { class: "kino-sc-item", "data-path": itemKey(i) },
        h("span", { class: "kino-sc-item-index" }, String(i + 1)),
        h("div", { class: "kino-sc-item-fields" }, ...drawn.nodes),
        tools,
      ),
    );
  });
  const add = h(
    "button",
    { type: "button", class: "kino-sc-add", "data-path": `${key}:add` },
    `+ ${field.add_label ?? "Add"}`,
  );
  add.disabled = ctx.disabled;
  add.addEventListener("click", () => {
    ctx.focusNext([itemKey(items.length), `${key}:add`]);
    ctx.change(path, [...items, cloneJson(field.item ?? {})]);
  });
  box.append(add);
  return { control: box, inner: { placedError } };
}

function uploadInput(field: UploadField, value: unknown, ctx: FormContext): HTMLElement {
  const input = h("input", { type: "file", class: "kino-sc-file" });
  if (field.accept) input.accept = field.accept;
  input.disabled = ctx.disabled;
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file) ctx.upload(field, file);
  });
  const status =
    ctx.uploads[field.name] ??
    (typeof value === "string" && value ? value : "No file uploaded yet");
  return h(
    "div",
    { class: "kino-sc-upload" },
    input,
    h("span", { class: "kino-sc-upload-status" }, status),
  );
}
