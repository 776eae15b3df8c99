// Pure helpers of kino.input.image (no DOM): where the picture goes for each
// fit mode, and RGBA pixels to the requested channel count.

export interface Plan {
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
