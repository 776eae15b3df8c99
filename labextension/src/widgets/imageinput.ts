// kino.input.image: pick or drop a picture; the browser decodes it, resizes it
// (size + fit) and sends raw pixels (HWC uint8) to Python as one buffer.
import "./imageinput.css";
import { h } from "./_dom";
import { Model, watch } from "./_model";

interface Plan {
  // source rectangle, destination rectangle, canvas size
  sx: number; sy: number; sw: number; sh: number;
  dx: number; dy: number; dw: number; dh: number;
  width: number; height: number;
}

/** Where the picture goes on the output canvas for each fit mode. */
export function plan(w: number, hgt: number, size: number[], fit: string, maxPixels: number): Plan {
  const full = { sx: 0, sy: 0, sw: w, sh: hgt };
  if (size.length !== 2) {
    const scale = Math.min(1, Math.sqrt(maxPixels / (w * hgt)));
    const width = Math.max(1, Math.floor(w * scale));
    const height = Math.max(1, Math.floor(hgt * scale));
    return { ...full, dx: 0, dy: 0, dw: width, dh: height, width, height };
  }
  const [th, tw] = size;
  if (fit === "match") return { ...full, dx: 0, dy: 0, dw: tw, dh: th, width: tw, height: th };
  if (fit === "crop") {
    const scale = Math.max(tw / w, th / hgt);
    const sw = tw / scale;
    const sh = th / scale;
    return { sx: (w - sw) / 2, sy: (hgt - sh) / 2, sw, sh, dx: 0, dy: 0, dw: tw, dh: th, width: tw, height: th };
  }
  const scale = Math.min(tw / w, th / hgt);
  const dw = Math.max(1, Math.round(w * scale));
  const dh = Math.max(1, Math.round(hgt * scale));
  if (fit === "pad") {
    return { ...full, dx: Math.floor((tw - dw) / 2), dy: Math.floor((th - dh) / 2), dw, dh, width: tw, height: th };
  }
  return { ...full, dx: 0, dy: 0, dw, dh, width: dw, height: dh }; // contain
}

/** RGBA pixels to the requested channel count (3 rgb, 4 rgba, 1 luminance). */
export function toChannels(rgba: Uint8ClampedArray, channels: number): Uint8Array {
  if (channels === 4) return new Uint8Array(rgba);
  const n = rgba.length / 4;
  const out = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
    if (channels === 1) out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else {
      out[3 * i] = r;
      out[3 * i + 1] = g;
      out[3 * i + 2] = b;
    }
  }
  return out;
}

function render({ model, el }: { model: Model; el: HTMLElement }) {
  const input = h("input", { type: "file", accept: "image/*", class: "kino-visually-hidden" });
  const pick = h("button", { type: "button", class: "kino-media-button" }, "Choose image");
  const hint = h("span", { class: "kino-media-hint" }, "or drop one here");
  const status = h("div", { class: "kino-media-status", "aria-live": "polite" });
  const canvas = h("canvas", { class: "kino-image-preview" });
  const zone = h("div", { class: "kino kino-media-zone" }, input, pick, hint, canvas, status);
  el.appendChild(zone);

  const showPreview = () => {
    const w: number = model.get("width");
    const hgt: number = model.get("height");
    const data: DataView | null = model.get("data");
    const channels: number = model.get("channels");
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
    const name: string = model.get("name") ?? "";
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
