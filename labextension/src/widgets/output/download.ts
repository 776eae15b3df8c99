// kino.download: a button; the content is made in Python only when clicked,
// sent back as one binary buffer and saved through a blob: URL.
import "./download.css";
import { h } from "../base/_dom";
import { watch, type RenderProps } from "../base/_model";

/** The synced traits of kino.ui.output.download.Download. */
interface DownloadTraits {
  filename: string;
  label: string;
  mime: string;
}

function render({ model, el }: RenderProps<DownloadTraits>) {
  const button = h("button", { type: "button", class: "kino-download-button" });
  const status = h("span", { class: "kino-download-status", "aria-live": "polite" });
  el.appendChild(h("div", { class: "kino kino-download" }, button, status));
  const draw = () => {
    button.textContent = `⤓ ${model.get("label") || model.get("filename")}`;
  };
  button.addEventListener("click", () => {
    button.disabled = true;
    status.textContent = "Preparing…";
    model.send({ type: "request" });
  });
  const onMessage = (msg: { type: string; filename?: string; mime?: string; message?: string }, buffers: DataView[]) => {
    button.disabled = false;
    if (msg.type === "error") {
      status.textContent = msg.message ?? "Download failed";
      status.classList.add("kino-download-error");
      return;
    }
    if (msg.type !== "content") return;
    status.textContent = "";
    status.classList.remove("kino-download-error");
    const blob = new Blob(buffers.map((b) => new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength)), {
      type: msg.mime || "application/octet-stream",
    });
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: msg.filename || "download" });
    a.style.display = "none";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  model.on("msg:custom", onMessage);
  draw();
  const off = watch(model, ["label", "filename"], draw);
  return () => {
    off();
    model.off("msg:custom", onMessage);
  };
}

export default { render };
