// kino.input.image: pick or drop a picture; the browser decodes it, resizes it
// (size + fit) and sends raw pixels (HWC uint8) to Python as one buffer.
import "./imageinput.css";
import { h } from "../base/_dom";
import { watch, type RenderProps } from "../base/_model";
import { plan, toChannels } from "./_image";

/** The synced traits of kino.ui.input.media.ImageControl. */
interface ImageInputTraits {
  /** Pixels, HWC uint8 (bytes_serialization: a DataView in the browser). */
  data: DataView | null;
  width: number;
  height: number;
  channels: number;
  /** [height, width], or [] for the picture's own size. */
  size: number[];
  fit: string;
  max_pixels: number;
  name: string;
  disabled: boolean;
}

function render({ model, el }: RenderProps<ImageInputTraits>) {
  const input = h("input", { type: "file", accept: "image/*", class: "kino-visually-hidden" });
  const pick = h("button", { type: "button", class: "kino-media-button" }, "Choose image");
  const hint = h("span", { class: "kino-media-hint" }, "or drop one here");
  const status = h("div", { class: "kino-media-status", "aria-live": "polite" });
  const canvas = h("canvas", { class: "kino-image-preview" });
  const zone = h("div", { class: "kino kino-media-zone" }, input, pick, hint, canvas, status);
  el.appendChild(zone);

  const showPreview = () => {
    const w = model.get("width");
    const hgt = model.get("height");
    const data = model.get("data");
    const channels = model.get("channels");
    if (!data || data.byteLength === 0 || !w || !hgt) {
      canvas.style.display = "none";
      status.textContent = "";
      return;
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const rgba = new Uint8ClampedArray(w * hgt * 4);
    for (let i = 0; i < w * hgt; i++) {
      const r = channels === 1 ? bytes[i] : bytes[channels * i];
      const g = channels === 1 ? bytes[i] : bytes[channels * i + 1];
      const b = channels === 1 ? bytes[i] : bytes[channels * i + 2];
      rgba.set([r, g, b, channels === 4 ? bytes[4 * i + 3] : 255], 4 * i);
    }
    canvas.width = w;
    canvas.height = hgt;
    canvas.getContext("2d")!.putImageData(new ImageData(rgba, w, hgt), 0, 0);
    canvas.style.display = "";
    const name = model.get("name") ?? "";
    status.textContent = `${name ? name + " · " : ""}${hgt}×${w}×${channels}`;
  };

  const load = async (file: File) => {
    status.textContent = "Reading…";
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(file);
    } catch {
      status.textContent = `${file.name} is not an image this browser can read`;
      return;
    }
    const p = plan(bitmap.width, bitmap.height, model.get("size") ?? [], model.get("fit"), model.get("max_pixels"));
    const work = document.createElement("canvas");
    work.width = p.width;
    work.height = p.height;
    const ctx = work.getContext("2d", { willReadFrequently: true })!;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(bitmap, p.sx, p.sy, p.sw, p.sh, p.dx, p.dy, p.dw, p.dh);
    bitmap.close();
    const pixels = toChannels(ctx.getImageData(0, 0, p.width, p.height).data, model.get("channels"));
    model.set("name", file.name);
    model.set("width", p.width);
    model.set("height", p.height);
    model.set("data", new DataView(pixels.buffer));
    model.save_changes();
  };

  pick.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file) void load(file);
    input.value = "";
  });
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("kino-drop-over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("kino-drop-over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("kino-drop-over");
    const file = e.dataTransfer?.files?.[0];
    if (file) void load(file);
  });
  const setDisabled = () => {
    pick.disabled = !!model.get("disabled");
    input.disabled = pick.disabled;
  };
  setDisabled();
  showPreview();
  const offPreview = watch(model, ["data", "width", "height", "channels"], showPreview);
  const offDisabled = watch(model, ["disabled"], setDisabled);
  return () => {
    offPreview();
    offDisabled();
  };
}

export default { render };
