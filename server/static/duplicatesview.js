// The duplicates view: groups of files that hold the same content (GET /api/v1/duplicates, a page at a
// time), each group's files side by side with the keeper marked, the bytes the others take, and the paths
// of the others to copy into a script. Nothing here deletes anything: anyseek never touches a user's file.

import { api, setSource } from "./api.js";
import { el } from "./render.js";

const PAGE = 50;
const ALL_PAGES = 1000; // the API's largest page: copying every group's others takes few requests
const TIER_NAMES = { exact: "exact copies", duplicate: "re-encoded copies", similar: "burst" };
const KIND_NAMES = { image: "Pictures", text: "Documents", audio: "Recordings", video: "Videos" };
const $ = (id) => document.getElementById(id);
let offset = 0;
let shown = null; // the page on screen
let loading = null;

// Sizes as `anyseek duplicates` prints them (powers of 1000).
export function formatBytes(size) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let unit = 0;
  while (size >= 1000 && unit < units.length - 1) {
    size /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${size} B` : `${size.toFixed(1)} ${units[unit]}`;
}

// The files other than each keeper, one per line: what `anyseek duplicates --paths` prints. (A path that is
// not UTF-8 can only be copied in its printable form; --paths writes its exact bytes.)
export function othersPaths(groups) {
  return groups.flatMap((group) => group.items.filter((item) => !item.keep).map((item) => item.path));
}

function tier() {
  return $("dup-tier").value;
}

function say(message) {
  $("dup-status").textContent = message;
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    say("The browser did not allow copying; the paths are listed under each picture.");
  }
}

function fileCard(item, kind) {
  const name = item.name || item.path.split(/[/\\]/).pop();
  const size = [formatBytes(item.size), item.width && item.height ? `${item.width}×${item.height}` : null];
  let picture = null;
  if (item.thumbnail_url) {
    picture = el("img", { alt: name, loading: "lazy", width: 160, height: 160 });
    setSource(picture, item.thumbnail_url);
  }
  return el(
    "li",
    { class: item.keep ? "dup-file keeper" : "dup-file", "data-item": item.item_id, "data-kind": kind },
    picture,
    item.keep ? el("strong", { class: "keep-mark", text: "Keep" }) : null,
    el("span", { class: "thumb-name", text: name }),
    el("span", { class: "muted", text: size.filter(Boolean).join(" · ") }),
    el("code", { class: "path", text: item.path }),
  );
}

function groupCard(group, number) {
  const others = othersPaths([group]);
  const similarity = group.tier === "exact" ? "identical bytes" : `similarity ${group.similarity.toFixed(3)}`;
  const button = el("button", { type: "button", class: "link dup-copy" }, "Copy paths of the others");
  button.addEventListener("click", () => copy(others.join("\n") + "\n", button));
  return el(
    "li",
    { class: "dup-group", "data-tier": group.tier },
    el(
      "div",
      { class: "dup-head" },
      el("h3", { text: `${number}. ${KIND_NAMES[group.kind] || group.kind}: ${TIER_NAMES[group.tier] || group.tier}` }),
      el("span", { class: "muted", text: `${similarity}; frees ${formatBytes(group.bytes_freed)}` }),
      button,
    ),
    el("ul", { class: "dup-files", role: "list" }, group.items.map((item) => fileCard(item, group.kind))),
  );
}

function showPage(page) {
  shown = page;
  const groups = page.groups || [];
  $("dup-groups").start = page.offset + 1;
  $("dup-groups").replaceChildren(...groups.map((group, i) => groupCard(group, page.offset + i + 1)));
  const last = page.offset + groups.length;
  $("dup-page").textContent = page.total ? `Groups ${page.offset + 1}–${last} of ${page.total}` : "";
  $("dup-prev").disabled = page.offset === 0;
  $("dup-next").disabled = last >= page.total;
  $("dup-copy-all").disabled = !page.total;
  $("dup-copy-all").textContent = "Copy paths of the others";
  if (!page.total) say("No duplicates found.");
  else say(`${page.total} group${page.total === 1 ? "" : "s"}; on this page, ${formatBytes(page.bytes_freed)} in files other than the keepers.`);
}

export async function refreshDuplicates() {
  loading?.abort();
  loading = new AbortController();
  say("Looking for duplicates… (the first time, each picture is read once)");
  try {
    showPage(await api.duplicates({ tier: tier(), offset, limit: PAGE }, loading.signal));
  } catch (err) {
    if (err.name !== "AbortError") say(err.message);
  }
}

async function copyAll(button) {
  const paths = [];
  for (let start = 0; ; start += ALL_PAGES) {
    const page = await api.duplicates({ tier: tier(), offset: start, limit: ALL_PAGES });
    paths.push(...othersPaths(page.groups));
    if (start + ALL_PAGES >= page.total) break;
  }
  await copy(paths.map((path) => path + "\n").join(""), button);
}

export function setupDuplicatesView() {
  $("dup-tier").addEventListener("change", () => {
    offset = 0;
    refreshDuplicates();
  });
  $("dup-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    refreshDuplicates();
  });
  $("dup-next").addEventListener("click", () => {
    if (shown && offset + PAGE < shown.total) offset += PAGE;
    refreshDuplicates();
  });
  $("dup-copy-all").addEventListener("click", (event) => {
    const button = event.currentTarget;
    copyAll(button).catch((err) => say(err.message));
  });
}
