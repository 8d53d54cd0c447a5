// The opened result: a larger view of the item, its whole text or transcript, "more like this" and where the
// file lives. A <dialog> shown modally keeps the focus inside and closes on Escape.

import { api, setSource } from "./api.js";
import { el, formatTime, highlight, hitName, recordPart, seekablePlayer, textBox } from "./render.js";

const dialog = () => document.getElementById("detail");
const body = () => document.getElementById("detail-body");
let current = null;
let opener = null;

export function setupDetail({ onMoreLikeThis, onError }) {
  const close = () => dialog().close();
  document.getElementById("detail-close").addEventListener("click", close);
  dialog().addEventListener("click", (event) => {
    if (event.target === dialog()) close(); // a click on the backdrop
  });
  dialog().addEventListener("close", () => {
    for (const media of body().querySelectorAll("audio, video")) media.pause();
    body().replaceChildren();
    opener?.focus();
  });
  document.getElementById("detail-like").addEventListener("click", () => {
    const hit = current;
    close();
    if (hit) onMoreLikeThis(hit);
  });
  document.getElementById("detail-copy").addEventListener("click", async (event) => {
    try {
      await navigator.clipboard.writeText(current?.path || "");
      event.target.textContent = "Copied";
    } catch {
      onError("The browser did not allow copying; select the path and copy it by hand.");
    }
  });
}

export async function openDetail(hit, words) {
  current = hit;
  opener = document.activeElement;
  document.getElementById("detail-title").textContent = hitName(hit);
  document.getElementById("detail-path").textContent = hit.path;
  document.getElementById("detail-copy").textContent = "Copy";
  body().replaceChildren(el("p", { class: "muted", text: "Loading…" }));
  dialog().showModal();
  let item;
  try {
    item = await api.item(hit.item_id);
  } catch (err) {
    body().replaceChildren(el("p", { class: "error", text: err.message }));
    return;
  }
  if (current !== hit) return; // another result was opened meanwhile
  const views = { image: imageView, text: documentView, audio: recordingView, video: recordingView, record: recordView };
  const view = views[hit.modality];
  body().replaceChildren(...(view || documentView)(hit, item, words));
  body().querySelector(".current")?.scrollIntoView({ block: "center" });
}

// A record: its label and metadata, then every part, each with its whole text (all of its passages).
function recordView(hit, item, words) {
  const texts = {};
  for (const chunk of item.chunks || []) {
    if (chunk.field && chunk.text) (texts[chunk.field] ||= []).push(chunk.text);
  }
  const about = [hit.label ? `Label: ${hit.label}` : null, ...Object.entries(hit.metadata || {}).map(([k, v]) => `${k}: ${v}`)];
  const parts = (hit.parts || []).map((part) => {
    const whole = part.kind === "text" && texts[part.field] ? { ...part, snippet: texts[part.field].join(" ") } : part;
    return recordPart(whole, false, words);
  });
  return [el("p", { class: "muted", text: about.filter(Boolean).join(" · ") }), el("ul", { class: "parts", role: "list" }, parts)];
}

function imageView(hit, item) {
  const img = el("img", { class: "large", alt: hitName(hit) });
  setSource(img, item.media_url || hit.media_url);
  return [el("span", { class: "large-pic" }, img, hit.box ? textBox(hit.box, false) : null)];
}

// The whole document, its passages in order, the one that matched marked and scrolled into view.
function documentView(hit, item, words) {
  const passages = (item.chunks || []).filter((c) => c.text);
  if (!passages.length) return [el("p", { class: "snippet" }, highlight(hit.snippet || "", words))];
  return [
    el(
      "div",
      { class: "document", tabindex: 0, "aria-label": "Document text" },
      passages.map((chunk) => {
        const isHit = chunk.chunk_id === hit.chunk_id;
        return el(
          "p",
          { class: isHit ? "passage current" : "passage", "aria-current": isHit ? "true" : null },
          isHit ? highlight(chunk.text, words) : chunk.text,
        );
      }),
    ),
  ];
}

// The recording with every transcript window as a button that plays from its start; the window being
// heard is marked as the player moves.
function recordingView(hit, item, words) {
  const player = seekablePlayer(item.media_url || hit.media_url, hit.start, hit.modality);
  player.classList.add("large");
  player.setAttribute("aria-label", `Play ${hitName(hit)}`);
  const windows = (item.chunks || []).filter((c) => c.start != null);
  const buttons = windows.map((chunk) => {
    const isHit = chunk.chunk_id === hit.chunk_id;
    return el(
      "li",
      {},
      el(
        "button",
        {
          type: "button",
          class: isHit ? "window current" : "window",
          "data-start": chunk.start,
          "aria-current": isHit ? "true" : null,
          onclick: () => {
            player.dataset.seeked = "1";
            player.currentTime = chunk.start;
            player.play().catch(() => {});
          },
        },
        el("span", { class: "when", text: formatTime(chunk.start) }),
        el("span", {}, isHit ? highlight(chunk.text || "", words) : chunk.text || ""),
      ),
    );
  });
  player.addEventListener("timeupdate", () => {
    const t = player.currentTime;
    windows.forEach((chunk, i) => {
      const playing = t >= chunk.start && t < (chunk.end ?? chunk.start);
      buttons[i].firstChild.classList.toggle("playing", playing);
    });
  });
  const transcript = buttons.length
    ? el("ol", { class: "transcript", "aria-label": "Transcript" }, buttons)
    : el("p", { class: "muted", text: "No speech was found in this recording." });
  return [player, transcript];
}
