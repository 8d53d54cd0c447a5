// The page's entry point: wires the search form, searching by example, the result groups, the opened
// result and the index view together.

import { api, ApiError, takeTokenFromLocation } from "./api.js";
import { setupFileInputs, setupMicrophone } from "./capture.js";
import { openDetail, setupDetail } from "./detail.js";
import { refreshDuplicates, setupDuplicatesView } from "./duplicatesview.js";
import { refreshSummary, setupIndexView } from "./indexview.js";
import { documentHit, gridKeys, hitName, imageHit, queryWords, recordHit, recordingHit } from "./render.js";

const $ = (id) => document.getElementById(id);
const GROUP = { image: "res-image", text: "res-text", audio: "res-audio", video: "res-audio", record: "res-record" };
const PER_TYPE_K = { image: 30, text: 10, audio: 10, record: 10 };
let searchId = 0;
let inFlight = null;
let words = [];

function banner(message) {
  $("banner").textContent = message || "";
  $("banner").hidden = !message;
}

function say(message) {
  $("status").textContent = message;
}

function selectedTypes() {
  return [...document.querySelectorAll("input[name=types]:checked")].map((box) => box.value);
}

function folder() {
  return $("folder").value.trim() || null;
}

// "newest first": the same best matches, in capture-date order (the API's sort=date)
function sortOrder() {
  return $("sort").value;
}

// one result per group of duplicate files, the best-ranked, with the others counted (collapse_duplicates)
function collapsed() {
  return $("collapse").checked;
}

function clearResults() {
  for (const id of new Set(Object.values(GROUP))) {
    $(id).hidden = true;
    $(id).querySelector("ul").replaceChildren();
  }
  $("heard").hidden = true;
}

function showHits(hits) {
  const open = (hit) => openDetail(hit, words);
  for (const hit of hits) {
    const id = GROUP[hit.modality] || "res-text";
    const node =
      hit.modality === "image"
        ? imageHit(hit, open)
        : hit.modality === "record"
          ? recordHit(hit, words, open)
          : hit.modality === "audio" || hit.modality === "video"
            ? recordingHit(hit, words, open)
            : documentHit(hit, words, open);
    $(id).querySelector("ul").append(node);
    $(id).hidden = false;
  }
}

function startSearch() {
  inFlight?.abort();
  inFlight = new AbortController();
  searchId += 1;
  clearResults();
  banner("");
  return { id: searchId, signal: inFlight.signal };
}

function finish(id, count, what, tookMs) {
  if (id !== searchId) return;
  if (count === 0) {
    say(`No results for ${what}. Try other words, or show more kinds of files.`);
  } else {
    const took = tookMs != null ? ` in ${Math.round(tookMs)} ms` : "";
    say(`${count} result${count === 1 ? "" : "s"} for ${what}${took}.`);
  }
}

function failed(id, err, context) {
  if (err.name === "AbortError" || id !== searchId) return;
  say("");
  banner(context ? `${context}: ${err.message}` : err.message);
}

// One request per kind of file, each group shown as soon as its answer arrives.
async function searchByQuery({ q = "", like = null, label }) {
  const types = selectedTypes();
  if (!types.length) {
    banner("Choose at least one kind of file to show.");
    return;
  }
  const { id, signal } = startSearch();
  words = queryWords(q);
  const what = label || `“${q}”`;
  say(`Searching for ${what}…`);
  let count = 0;
  let slowest = 0;
  const one = async (type) => {
    const body = { query: q || null, like, modalities: [type], k: PER_TYPE_K[type] || 10, offset: 0, path: folder(), sort: sortOrder(), collapse_duplicates: collapsed() };
    const result = await api.search(body, signal);
    if (id !== searchId) return;
    count += result.hits.length;
    slowest = Math.max(slowest, result.took_ms || 0);
    showHits(result.hits);
  };
  const outcomes = await Promise.allSettled(types.map(one));
  const error = outcomes.find((o) => o.status === "rejected")?.reason;
  if (error && count === 0) return failed(id, error);
  if (error) banner(error.message);
  finish(id, count, what, slowest);
}

const SPEECH_TYPES = /^(audio|video)\//;

async function searchByFile(file) {
  const types = selectedTypes();
  if (!types.length) {
    banner("Choose at least one kind of file to show.");
    return;
  }
  const { id, signal } = startSearch();
  const spoken = SPEECH_TYPES.test(file.type);
  const q = $("q").value.trim(); // words in the box are searched together with the file
  const name = (file.name || (spoken ? "the recording" : "the picture")) + (q ? ` + “${q}”` : "");
  words = queryWords(q);
  say(spoken ? `Listening to ${name}…` : `Searching with ${name}…`);
  try {
    const fields = { modalities: types.join(","), k: 30, query: q };
    const result = await api.upload(file, fields, signal);
    if (id !== searchId) return;
    const heard = (result.transcripts || []).filter(Boolean);
    if (heard.length) {
      words = queryWords([q, ...heard].join(" "));
      $("heard").replaceChildren("Heard: ", Object.assign(document.createElement("q"), { textContent: heard.join(" ") }));
      $("heard").hidden = false;
    }
    showHits(result.hits);
    finish(id, result.hits.length, heard.length ? `what was heard` : name, result.took_ms);
  } catch (err) {
    if (err instanceof ApiError && err.code === "no_speech") {
      const advice = "Speak closer to the microphone, or try another file.";
      return failed(id, new ApiError(`No speech was heard in the recording. ${advice}`));
    }
    failed(id, err, `Could not search with ${name}`);
  }
}

function showView(name) {
  for (const view of ["search", "index", "duplicates"]) {
    $(`view-${view}`).hidden = view !== name;
    if (view === name) $(`tab-${view}`).setAttribute("aria-current", "page");
    else $(`tab-${view}`).removeAttribute("aria-current");
  }
  if (name === "index") refreshSummary();
  if (name === "duplicates") refreshDuplicates();
}

function setup() {
  takeTokenFromLocation();
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const q = $("q").value.trim();
    if (!q) {
      banner("Type something to search for, or drop a picture or a recording.");
      $("q").focus();
      return;
    }
    searchByQuery({ q });
  });
  for (const box of document.querySelectorAll("input[name=types], #sort, #collapse")) {
    box.addEventListener("change", () => $("q").value.trim() && searchByQuery({ q: $("q").value.trim() }));
  }
  setupFileInputs(searchByFile);
  const stopRecording = setupMicrophone(searchByFile, banner);
  setupDetail({
    onMoreLikeThis: (hit) => {
      showView("search");
      searchByQuery({ like: hit.item_id, label: `files like ${hitName(hit)}` });
      $("q").focus();
    },
    onError: banner,
  });
  setupIndexView();
  setupDuplicatesView();
  gridKeys($("res-image").querySelector("ul"));
  $("tab-search").addEventListener("click", () => showView("search"));
  $("tab-index").addEventListener("click", () => showView("index"));
  $("tab-duplicates").addEventListener("click", () => showView("duplicates"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      stopRecording();
      if (!$("banner").hidden && !$("detail").open) banner("");
    }
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName);
    if (event.key === "/" && !typing && !$("detail").open) {
      event.preventDefault();
      showView("search");
      $("q").focus();
    }
  });
  api.health().catch((err) => banner(err.message));
  $("q").focus();
}

setup();
