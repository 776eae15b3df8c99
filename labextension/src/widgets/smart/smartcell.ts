// A smart cell's form (kino.ui.smart.SmartCell): a title bar, the fields drawn from
// the `fields` schema, the error beside its field, and the link to the code: kino's
// JupyterLab plugin writes the code into the cell below (src/plugin/smart-bridge.ts);
// with no plugin (Voila, classic tools) the code is shown here with a Copy button.
import "./smartcell.css";
import { h } from "../base/_dom";
import { watch, type RenderProps } from "../base/_model";
import type { SmartCellBridge, SmartCellHost, SmartCellStatus } from "../../plugin/smart-bridge";
import { announce, isLive, onLiveChange } from "./_bridge";
import { codePanel } from "./_code";
import { drawFields, type FormContext } from "./_form";
import { type Attrs, type Field, type UploadField, sameValue, setPath } from "./_schema";

/** The synced traits of kino.ui.smart.cell.SmartCell. */
interface SmartCellTraits {
  attrs: Attrs;
  fields: Field[];
  code: string;
  error: string;
  error_field: string;
  smart_kind: string;
  smart_version: number;
  smart_title: string;
  max_upload_bytes: number;
}

/** A text field sends its value after this pause in typing (or on blur). */
const TYPING_DEBOUNCE_MS = 300;
/** An upload travels in chunks of this size, one message each (upload.py's UPLOAD_CHUNK_BYTES). */
const UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024;
/** Used when the kernel did not say (an older saved state). */
const MAX_UPLOAD_BYTES = 200 * 1024 * 1024;

/** A byte count as people read it (upload.py's size_text). */
function sizeText(n: number): string {
  for (const [unit, scale] of [["GB", 1024 ** 3], ["MB", 1024 ** 2], ["KB", 1024]] as const) {
    if (n >= scale) return `${Number((n / scale).toFixed(1))} ${unit}`;
  }
  return `${n} bytes`;
}

function render({ model, el }: RenderProps<SmartCellTraits>) {
  const title = h("span", { class: "kino-sc-title" });
  const status = h("span", { class: "kino-sc-status" });
  const banner = h("div", { class: "kino-sc-banner", role: "status" });
  const form = h("div", { class: "kino-sc-form" });
  const root = h(
    "div",
    { class: "kino kino-smartcell" },
    h(
      "div",
      { class: "kino-sc-header" },
      h("span", { class: "kino-sc-badge" }, "Smart cell"),
      title,
      status,
    ),
    banner,
    form,
  );
  // As kino's other controls: a saved form with no kernel gets base/_base.css's one quiet
  // line under the output ("Saved output: run the cell again to use these controls.").
  el.classList.add("kino");
  el.appendChild(root);
  banner.hidden = true;

  // The attributes as this view has them: ahead of the model while a text field waits.
  let local: Attrs = { ...(model.get("attrs") ?? {}) };
  let drawn = "";
  let typing = 0;
  const uploads: Record<string, string> = {};
  // An error the view found itself (a file above the limit): shown like the kernel's.
  let refused: { path: string; message: string } | null = null;
  let focusNext: string[] = [];
  const cleanups: (() => void)[] = [];

  const send = () => {
    clearTimeout(typing);
    typing = 0;
    // A saved form with no kernel behind it has no comm to send on.
    if (sameValue(local, model.get("attrs")) || !isLive(el)) return;
    model.set("attrs", local);
    model.save_changes();
  };

  const upload = async (field: UploadField, file: File) => {
    const limit = model.get("max_upload_bytes") || MAX_UPLOAD_BYTES;
    if (file.size > limit) {
      refused = {
        path: field.name,
        message: `the file is ${sizeText(file.size)}; the largest upload is ${sizeText(limit)}`,
      };
      draw(true);
      return;
    }
    refused = null;
    uploads[field.name] = `Uploading ${file.name}…`;
    draw(true);
    for (let offset = 0; offset === 0 || offset < file.size; offset += UPLOAD_CHUNK_BYTES) {
      const chunk = await file.slice(offset, offset + UPLOAD_CHUNK_BYTES).arrayBuffer();
      model.send(
        { type: "upload", field: field.name, name: file.name, offset, total: file.size },
        undefined,
        [chunk],
      );
      if (file.size === 0) break;
    }
    delete uploads[field.name];
  };

  const context = (): FormContext => ({
    disabled: !isLive(el),
    error: model.get("error") || refused?.message || "",
    errorPath: model.get("error") ? (model.get("error_field") ?? "") : (refused?.path ?? ""),
    uploads,
    change(path, value, isTyping) {
      refused = null;
      local = setPath(local, path.map(String), value);
      if (isTyping) {
        clearTimeout(typing);
        typing = window.setTimeout(send, TYPING_DEBOUNCE_MS);
      } else send();
    },
    upload: (field, file) => void upload(field, file),
    focusNext: (paths) => (focusNext = paths),
  });

  /** The control at a data-path (an item's path: its first control) if it can take focus. */
  const focusable = (path: string): HTMLElement | null => {
    const found = form.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`);
    const el = found?.matches("input, select, button")
      ? found
      : found?.querySelector<HTMLElement>("input, select, button");
    return el && !(el as HTMLInputElement).disabled ? el : null;
  };

  // Redraws keep the focused control and its caret (a redraw follows each answer).
  function draw(force = false) {
    const fields = model.get("fields") ?? [];
    if (!typing) local = { ...(model.get("attrs") ?? {}) };
    const ctx = context();
    const key = JSON.stringify([fields, local, ctx.error, ctx.errorPath, ctx.disabled]);
    if (key === drawn && !force) return;
    drawn = key;
    const focused = document.activeElement as HTMLInputElement | null;
    const focusPath = focused && form.contains(focused) ? focused.getAttribute("data-path") : null;
    const caret = focusPath !== null && focused?.type === "text" ? focused.selectionStart : null;
    const { nodes, placedError } = drawFields(Array.isArray(fields) ? fields : [], local, [], ctx);
    const general =
      ctx.error && !placedError
        ? h("div", { class: "kino-sc-error kino-sc-form-error", role: "alert" }, ctx.error)
        : null;
    form.replaceChildren(...(general ? [general] : []), ...nodes);
    const wanted = focusNext.length ? focusNext : focusPath !== null ? [focusPath] : [];
    focusNext = [];
    for (const path of wanted) {
      const again = focusable(path);
      if (!again) continue;
      again.focus();
      if (caret !== null && again instanceof HTMLInputElement && again.type === "text") {
        again.setSelectionRange(caret, caret);
      }
      break;
    }
    title.textContent = model.get("smart_title") || model.get("smart_kind") || "Smart cell";
  }
  form.addEventListener("focusout", () => typing && send());
  draw();
  const redrawOn = ["attrs", "fields", "error", "error_field", "smart_title"] as const;
  cleanups.push(watch(model, [...redrawOn], () => draw()));
  cleanups.push(onLiveChange(el, () => draw()));

  const bridge: SmartCellBridge = {
    get kind() {
      return model.get("smart_kind");
    },
    get version() {
      return model.get("smart_version");
    },
    get title() {
      return model.get("smart_title");
    },
    attrs: () => ({ ...(model.get("attrs") ?? {}) }),
    code: () => model.get("code") ?? "",
    error: () => model.get("error") ?? "",
    setAttrs(attrs) {
      local = { ...attrs };
      send();
    },
    onChange: (listener) => watch(model, ["attrs", "code", "error"], listener),
    live: () => isLive(el),
  };

  const hosted = (host: SmartCellHost) => {
    root.classList.add("kino-sc-hosted");
    const show = (s: SmartCellStatus) => {
      const edited = s.state === "edited";
      status.textContent = edited ? "" : "Code in the cell below";
      banner.hidden = !edited;
      if (!edited) {
        banner.replaceChildren();
        return;
      }
      const convert = h(
        "button",
        { type: "button", class: "kino-sc-button" },
        "Convert to plain code",
      );
      const overwrite = h(
        "button",
        { type: "button", class: "kino-sc-button kino-sc-button-quiet" },
        "Replace with the form's code",
      );
      convert.addEventListener("click", () => host.convertToPlainCode());
      overwrite.addEventListener("click", () => host.overwrite());
      banner.replaceChildren(
        h("span", { class: "kino-sc-banner-text" }, "The code below was edited by hand"),
        convert,
        overwrite,
      );
    };
    show({ state: "linked" });
    cleanups.push(host.onStatus(show));
  };

  const standalone = (refusal: string) => {
    root.classList.add("kino-sc-standalone");
    if (refusal) root.append(h("div", { class: "kino-sc-note" }, refusal));
    const panel = codePanel();
    root.append(panel.el);
    const update = () => panel.update(model.get("code") ?? "");
    update();
    cleanups.push(watch(model, ["code"], update));
  };

  cleanups.push(
    announce(el, bridge, (host, refusal) => (host ? hosted(host) : standalone(refusal))),
  );
  return () => {
    clearTimeout(typing);
    for (const fn of cleanups) fn();
  };
}

export default { render };
