// kino.input.audio: record from the microphone or upload a sound file. The
// browser decodes it, mixes it to mono, resamples it to `sampling_rate` and
// sends float32 samples to Python as one buffer.
import "./audioinput.css";
import { h } from "../base/_dom";
import { watch, type RenderProps } from "../base/_model";

async function decode(bytes: ArrayBuffer, rate: number): Promise<Float32Array> {
  const ctx = new AudioContext();
  try {
    const buffer = await ctx.decodeAudioData(bytes);
    const length = Math.max(1, Math.ceil(buffer.duration * rate));
    const offline = new OfflineAudioContext(1, length, rate);
    const source = offline.createBufferSource();
    source.buffer = buffer;
    source.connect(offline.destination); // channels are mixed down to mono here
    source.start();
    const rendered = await offline.startRendering();
    return rendered.getChannelData(0);
  } finally {
    void ctx.close();
  }
}

/** The synced traits of kino.ui.input.media.AudioControl. */
interface AudioInputTraits {
  /** Mono float32 samples (bytes_serialization: a DataView in the browser). */
  data: DataView | null;
  sampling_rate: number;
  max_samples: number;
  name: string;
  disabled: boolean;
}

function render({ model, el }: RenderProps<AudioInputTraits>) {
  const input = h("input", { type: "file", accept: "audio/*", class: "kino-visually-hidden" });
  const record = h("button", { type: "button", class: "kino-media-button" }, "● Record");
  const upload = h("button", { type: "button", class: "kino-media-button" }, "Upload");
  const player = h("audio", { controls: "", class: "kino-audio-player" });
  const status = h("div", { class: "kino-media-status", "aria-live": "polite" });
  const zone = h("div", { class: "kino kino-media-zone" }, input, record, upload, player, status);
  el.appendChild(zone);
  let url: string | null = null;
  let recorder: MediaRecorder | null = null;

  const showState = () => {
    const data = model.get("data");
    const rate = model.get("sampling_rate");
    const n = data ? data.byteLength / 4 : 0;
    player.style.display = url && n ? "" : "none";
    if (!n) {
      if (!recorder) status.textContent = "";
      return;
    }
    const name = model.get("name") ?? "";
    status.textContent = `${name ? name + " · " : ""}${(n / rate).toFixed(2)} s at ${rate} Hz`;
  };

  const take = async (blob: Blob, name: string) => {
    status.textContent = "Decoding…";
    let samples: Float32Array;
    try {
      samples = await decode(await blob.arrayBuffer(), model.get("sampling_rate"));
    } catch {
      status.textContent = `${name} is not audio this browser can decode`;
      return;
    }
    const max = model.get("max_samples");
    if (samples.length > max) {
      status.textContent = `${name} is too long: ${samples.length} samples, the limit is ${max}`;
      return;
    }
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(blob);
    player.src = url;
    const copy = new Float32Array(samples);
    model.set("name", name);
    model.set("data", new DataView(copy.buffer));
    model.save_changes();
  };

  upload.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file) void take(file, file.name);
    input.value = "";
  });
  record.addEventListener("click", async () => {
    if (recorder) {
      recorder.stop();
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      status.textContent = "The microphone is not available (permission denied or no device)";
      return;
    }
    const chunks: Blob[] = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (e) => chunks.push(e.data));
    recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((t) => t.stop());
      recorder = null;
      record.textContent = "● Record";
      record.classList.remove("kino-recording");
      void take(new Blob(chunks, { type: chunks[0]?.type || "audio/webm" }), "recording");
    });
    recorder.start();
    record.textContent = "■ Stop";
    record.classList.add("kino-recording");
    status.textContent = "Recording…";
  });
  const setDisabled = () => {
    const off = !!model.get("disabled");
    record.disabled = off;
    upload.disabled = off;
  };
  setDisabled();
  showState();
  const offState = watch(model, ["data", "sampling_rate", "name"], showState);
  const offDisabled = watch(model, ["disabled"], setDisabled);
  return () => {
    offState();
    offDisabled();
    recorder?.stop();
    if (url) URL.revokeObjectURL(url);
  };
}

export default { render };
