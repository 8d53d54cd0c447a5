// Searching by example: a picture or a recording dropped, pasted or picked, or a question recorded with
// the microphone. Each ends in onFile(file).

const $ = (id) => document.getElementById(id);

export function setupFileInputs(onFile) {
  const drop = $("drop");
  const input = $("file");
  input.addEventListener("change", () => {
    if (input.files[0]) onFile(input.files[0]);
    input.value = ""; // picking the same file again searches again
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = event.dataTransfer?.files?.[0];
    if (file) onFile(file);
  });
  // A file dropped outside the zone would make the browser navigate away to it.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  document.addEventListener("paste", (event) => {
    const file = [...(event.clipboardData?.files || [])][0];
    if (!file) return; // pasted text goes where it was pasted
    event.preventDefault();
    onFile(file);
  });
}

// A press starts recording, a second press (or Escape) stops it and searches with what was said.
export function setupMicrophone(onFile, onError) {
  const button = $("mic");
  const label = button.querySelector(".mic-label");
  let recorder = null;
  if (!window.MediaRecorder || !navigator.mediaDevices?.getUserMedia) {
    button.disabled = true;
    button.title = "This browser cannot record sound here (it needs https or localhost).";
    return () => {};
  }
  const stop = () => {
    if (recorder?.state === "recording") recorder.stop();
  };
  button.addEventListener("click", async () => {
    if (recorder?.state === "recording") return stop();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      onError(
        err.name === "NotAllowedError"
          ? "The microphone is blocked: allow it for this page in the browser, then try again."
          : `No microphone could be opened (${err.message || err.name}).`,
      );
      return;
    }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.addEventListener("dataavailable", (event) => event.data.size && chunks.push(event.data));
    recorder.addEventListener("stop", () => {
      for (const track of stream.getTracks()) track.stop();
      button.setAttribute("aria-pressed", "false");
      button.classList.remove("recording");
      label.textContent = "Ask aloud";
      const recorded = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
      toWav(recorded)
        .then((wav) => onFile(new File([wav], "question.wav", { type: "audio/wav" })))
        .catch(() => onError("The recording could not be read back; try again, or upload a recording instead."));
    });
    recorder.start();
    button.setAttribute("aria-pressed", "true");
    button.classList.add("recording");
    label.textContent = "Stop and search";
  });
  return stop;
}

// Each browser records in its own container (WebM, Ogg, MP4); the speech model hears 16 kHz mono anyway,
// so the question is decoded here and sent as a small WAV file that every server build reads.
const RATE = 16000;

export async function toWav(blob) {
  const context = new AudioContext();
  let decoded;
  try {
    decoded = await context.decodeAudioData(await blob.arrayBuffer());
  } finally {
    context.close();
  }
  const frames = Math.max(1, Math.ceil(decoded.duration * RATE));
  const offline = new OfflineAudioContext(1, frames, RATE);
  const source = offline.createBufferSource();
  source.buffer = decoded;
  source.connect(offline.destination);
  source.start();
  const samples = (await offline.startRendering()).getChannelData(0);
  const out = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (offset, value) => [...value].forEach((c, i) => out.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  out.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVEfmt ");
  out.setUint32(16, 16, true);
  out.setUint16(20, 1, true); // PCM
  out.setUint16(22, 1, true); // mono
  out.setUint32(24, RATE, true);
  out.setUint32(28, RATE * 2, true);
  out.setUint16(32, 2, true);
  out.setUint16(34, 16, true);
  text(36, "data");
  out.setUint32(40, samples.length * 2, true);
  samples.forEach((sample, i) => out.setInt16(44 + i * 2, Math.max(-1, Math.min(1, sample)) * 0x7fff, true));
  return out.buffer;
}
