// Turning hits into DOM. Everything the server sends is set as text, never as HTML.

import { setSource } from "./api.js";

const STOP = new Set("a an and are as at be by for from in into is it of on or the to with was were".split(" "));

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) if (child != null) node.append(child);
  return node;
}

// The words of a query worth marking in a snippet, split as engine/search/syntax.py splits terms: the
// positive text terms only (not file names, weights or the subtracted terms).
export function queryWords(query) {
  const pieces = (query || "").trim().split(/(?:^|(?<=\s))([+-])(?=\s|$)/);
  const words = [];
  for (let i = 0; i < pieces.length; i += 2) {
    const sign = i === 0 ? "+" : pieces[i - 1];
    const term = pieces[i].trim().replace(/^\d+(?:\.\d+)?:(?=\S)/, "");
    if (sign === "-" || !term || /[/\\]|\.[A-Za-z0-9]{2,5}$/.test(term)) continue;
    for (const word of term.toLowerCase().match(/[\p{L}\p{N}']+/gu) || []) {
      if (word.length > 1 && !STOP.has(word)) words.push(word);
    }
  }
  return [...new Set(words)];
}

// Splits text into plain runs and <mark>ed runs: a word is marked when it starts with a query word (so
// "boat" marks "boats"), or when the hit reports the matched terms itself.
export function highlight(text, words) {
  const out = document.createDocumentFragment();
  if (!words.length) {
    out.append(text);
    return out;
  }
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${escaped.join("|")})[\\p{L}\\p{N}]*`, "giu");
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    out.append(text.slice(last, match.index), el("mark", { text: match[0] }));
    last = match.index + match[0].length;
  }
  out.append(text.slice(last));
  return out;
}

export function formatTime(seconds) {
  if (seconds == null || Number.isNaN(seconds)) return "";
  const s = Math.max(0, seconds);
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, "0")}`;
}

export function hitName(hit) {
  return hit.name || hit.path.split(/[/\\]/).pop();
}

function wordsFor(hit, fallback) {
  const terms = hit.matched_terms || hit.terms;
  return Array.isArray(terms) && terms.length ? terms.map((t) => String(t).toLowerCase()) : fallback;
}

// Where the words a hit was found by were read in its picture (a hit through OCR: hit.box, in the upright
// picture's pixels), marked over the picture. `cover`: the picture is shown cropped to a square (the
// thumbnails' object-fit: cover), its short side filling it; else it is shown whole.
export function textBox(box, cover) {
  const side = cover ? Math.min(box.width, box.height) : null;
  const sx = cover ? 1 / side : 1 / box.width;
  const sy = cover ? 1 / side : 1 / box.height;
  const ox = cover ? (side - box.width) / 2 / side : 0;
  const oy = cover ? (side - box.height) / 2 / side : 0;
  const mark = el("span", { class: "text-box", title: "text in image", "aria-hidden": "true" });
  const pct = (v) => `${(v * 100).toFixed(2)}%`;
  Object.assign(mark.style, {
    left: pct(box.x * sx + ox),
    top: pct(box.y * sy + oy),
    width: pct(box.w * sx),
    height: pct(box.h * sy),
  });
  return mark;
}

export function imageHit(hit, onOpen) {
  const name = hitName(hit);
  const img = el("img", { alt: name, loading: "lazy", width: 256, height: 256 });
  setSource(img, hit.thumbnail_url || hit.media_url);
  return el(
    "li",
    {},
    el(
      "button",
      { type: "button", class: "thumb", "data-item": hit.item_id, title: name, onclick: () => onOpen(hit) },
      el("span", { class: "pic" }, img, hit.box ? textBox(hit.box, true) : null, copiesBadge(hit)),
      el("span", { class: "thumb-name", text: name }),
    ),
  );
}

// A collapsed hit (collapse_duplicates) stands for its group: how many other files hold the same content.
export function copiesBadge(hit) {
  const others = hit.duplicates?.length || 0;
  if (!others) return null;
  const title = `${others} other file${others === 1 ? "" : "s"} hold${others === 1 ? "s" : ""} the same content`;
  return el("span", { class: "copies", title, "aria-label": title, text: `+${others}` });
}

// Where in the file the hit is, as the CLI's table says it: a page, a slide, a sheet and its rows, or the
// seconds of a subtitle cue (a subtitle file without its video has nothing to play).
export function hitPlace(hit) {
  if (hit.page != null) return `page ${hit.page}`;
  if (hit.slide != null) return `slide ${hit.slide}`;
  if (hit.row != null) {
    const rows = hit.row_end == null || hit.row_end === hit.row ? `row ${hit.row}` : `rows ${hit.row}–${hit.row_end}`;
    return hit.sheet ? `${hit.sheet}, ${rows}` : rows;
  }
  if (hit.start != null) return `${formatTime(hit.start)} – ${formatTime(hit.end)}`;
  return "";
}

export function documentHit(hit, words, onOpen) {
  const snippet = hit.snippet || "";
  const place = hitPlace(hit);
  return el(
    "li",
    { class: "doc" },
    el("button", { type: "button", class: "link title", "data-item": hit.item_id, onclick: () => onOpen(hit) }, hitName(hit)),
    place ? el("p", { class: "where muted", text: place }) : null,
    el("p", { class: "snippet" }, highlight(snippet, wordsFor(hit, words))),
    el("p", { class: "path muted", text: hit.path }, copiesBadge(hit)),
  );
}

// A player that starts where the hit starts: the position is set once the metadata is known, and a press
// of play on an untouched player jumps there too.
export function seekablePlayer(url, start, modality = "audio") {
  const player = el(modality === "video" ? "video" : "audio", {
    controls: true,
    preload: "metadata",
    "data-start": start ?? 0,
  });
  setSource(player, url);
  if (start) {
    const seek = () => {
      if (player.currentTime < start - 0.25 || player.dataset.seeked !== "1") player.currentTime = start;
      player.dataset.seeked = "1";
    };
    player.addEventListener("loadedmetadata", seek, { once: true });
  }
  return player;
}

export function recordingHit(hit, words, onOpen) {
  const when = hit.start != null ? `${formatTime(hit.start)} – ${formatTime(hit.end)}` : "";
  const player = seekablePlayer(hit.media_url, hit.start, hit.modality);
  player.setAttribute("aria-label", `Play ${hitName(hit)} from ${when || "the start"}`);
  return el(
    "li",
    { class: "rec" },
    el(
      "div",
      { class: "rec-head" },
      el("button", { type: "button", class: "link title", "data-item": hit.item_id, onclick: () => onOpen(hit) }, hitName(hit)),
      el("span", { class: "when muted", text: when }),
    ),
    el("p", { class: "snippet" }, highlight(hit.snippet || "", wordsFor(hit, words))),
    player,
  );
}

// A record: its id and label, then each part as what it is (a screenshot's thumbnail, its text with the
// query's words marked, a player for a recording from where it matched) with its score, the part that
// matched best marked, so a user sees which part of the record answered.
export function recordHit(hit, words, onOpen) {
  const parts = hit.parts || [];
  const best = parts.reduce((top, p) => (p.score != null && (top == null || p.score > top.score) ? p : top), null);
  return el(
    "li",
    { class: "record", "data-record": hit.record_id },
    el(
      "div",
      { class: "rec-head" },
      el("button", { type: "button", class: "link title", "data-item": hit.item_id, onclick: () => onOpen(hit) }, hit.record_id),
      hit.label ? el("span", { class: "label", text: hit.label }) : null,
      el("span", { class: "score muted", text: `score ${hit.score.toFixed(2)}` }),
    ),
    el("ul", { class: "parts", role: "list" }, parts.map((part) => recordPart(part, part === best, words))),
    el("p", { class: "path muted", text: hit.path }),
  );
}

export function recordPart(part, isBest, words) {
  const score = part.error ? "could not be read" : part.score == null ? "not scored" : part.score.toFixed(2);
  const head = el(
    "p",
    { class: "part-head" },
    el("span", { class: "field", text: part.field }),
    el("span", { class: "muted", text: ` ${score}` }),
    isBest ? el("span", { class: "best", text: " best match" }) : null,
  );
  const body = [];
  if (part.error) body.push(el("p", { class: "error", text: part.error }));
  else if (part.kind === "file" && part.modality === "image") {
    const img = el("img", { class: "part-thumb", alt: `${part.field}: ${part.path}`, loading: "lazy" });
    setSource(img, part.thumbnail_url || part.media_url);
    body.push(img);
  } else if (part.kind === "file" && (part.modality === "audio" || part.modality === "video")) {
    const player = seekablePlayer(part.media_url, part.start, part.modality);
    player.setAttribute("aria-label", `Play ${part.field} from ${part.start != null ? formatTime(part.start) : "the start"}`);
    body.push(player);
    if (part.snippet) body.push(el("p", { class: "snippet" }, highlight(part.snippet, words)));
  } else if (part.snippet) {
    const place = hitPlace(part);
    if (place) body.push(el("p", { class: "where muted", text: place }));
    body.push(el("p", { class: "snippet" }, highlight(part.snippet, words)));
  }
  return el("li", { class: isBest ? "part best-part" : "part", "data-field": part.field, "data-kind": part.kind }, head, body);
}

// Arrow keys move between thumbnails; the column count is read from the layout, so it follows the width.
export function gridKeys(list) {
  list.addEventListener("keydown", (event) => {
    const keys = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: "up", ArrowDown: "down", Home: "home", End: "end" };
    if (!(event.key in keys)) return;
    const buttons = [...list.querySelectorAll("button.thumb")];
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const top = buttons[0].offsetTop;
    const columns = Math.max(1, buttons.filter((b) => b.offsetTop === top).length);
    const move = keys[event.key];
    let next = index;
    if (typeof move === "number") next = index + move;
    else if (move === "up") next = index - columns;
    else if (move === "down") next = index + columns;
    else if (move === "home") next = 0;
    else next = buttons.length - 1;
    if (next < 0 || next >= buttons.length) return;
    event.preventDefault();
    buttons[next].focus();
  });
}
