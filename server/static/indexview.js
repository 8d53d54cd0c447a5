// The index view: what is in the index (counts, models, last run, files that failed), and indexing a folder
// with live progress from the job's event stream.

import { api, streamEvents } from "./api.js";
import { el } from "./render.js";

const KIND_NAMES = { image: "Images", text: "Documents", audio: "Recordings", video: "Videos" };
const FINAL = new Set(["completed", "cancelled", "failed"]);
let job = null; // { id, abort }

const $ = (id) => document.getElementById(id);

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "—";
}

function definitionList(pairs) {
  return el(
    "dl",
    { class: "facts" },
    pairs.map(([term, value]) => [el("dt", { text: term }), el("dd", { text: String(value) })]),
  );
}

export async function refreshSummary() {
  const target = $("index-summary");
  let status;
  try {
    status = await api.status();
  } catch (err) {
    target.replaceChildren(el("p", { class: "error", text: err.message }));
    return;
  }
  const items = status.items || {};
  const order = Object.keys(KIND_NAMES);
  const counts = Object.entries(items)
    .sort(([a], [b]) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99))
    .map(([kind, n]) => [KIND_NAMES[kind] || kind, n.toLocaleString()]);
  if (!counts.length) counts.push(["Files", "none yet: add a folder below"]);
  const models = Object.entries(status.models || {})
    // a model from a local folder has no pretrained tag: the default one listed would mislead
    .filter(([name]) => !(name === "joint_pretrained" && /[/\\]/.test(status.models.joint_model || "")))
    .map(([name, value]) => [name.replaceAll("_", " "), value]);
  const run = status.last_run;
  const completed = status.last_completed_run;
  // a refused or failed run says why, and does not hide the good run before it
  const earlier = completed && run && completed.started_at !== run.started_at;
  const runFacts = run
    ? [
        ["Last run", `${run.command || "index"}, ${run.status || ""}`],
        ...(run.reason ? [["Why", run.reason]] : []),
        ["Started", when(run.started_at)],
        ["Finished", when(run.finished_at)],
        ...(earlier ? [["Last completed", when(completed.finished_at)]] : []),
      ]
    : [["Last run", "never"]];
  const errors = status.first_errors || [];
  target.replaceChildren(
    el("div", { class: "cards" },
      el("section", { class: "card", "aria-labelledby": "h-counts" },
        el("h3", { id: "h-counts", text: "Files" }), definitionList(counts)),
      el("section", { class: "card", "aria-labelledby": "h-models" },
        el("h3", { id: "h-models", text: "Models" }), definitionList(models)),
      el("section", { class: "card", "aria-labelledby": "h-run" },
        el("h3", { id: "h-run", text: "Runs" }), definitionList([...runFacts, ["Location", status.home || "—"]])),
    ),
    el("section", { class: "card", "aria-labelledby": "h-errors" },
      el("h3", { id: "h-errors", text: `Files that could not be read (${status.errors ?? errors.length})` }),
      errors.length ? errorList(errors) : el("p", { class: "muted", text: "None." }),
    ),
  );
}

function errorList(errors) {
  return el(
    "ul",
    { class: "errors" },
    errors.map((e) => el("li", {}, el("code", { text: e.path }), " — ", e.reason)),
  );
}

function showJob(state) {
  $("job").hidden = false;
  const bar = $("job-progress");
  if (state.files_total) {
    bar.max = state.files_total;
    bar.value = state.files_done || 0;
  } else {
    bar.removeAttribute("value"); // indeterminate while the folder is still being counted
  }
  const of = state.files_total != null ? ` of ${state.files_total}` : "";
  const rate = state.rate ? `, ${state.rate.toFixed(1)} files/s` : "";
  const words = {
    running: state.files_total == null && !state.files_done
      ? `${state.phase ? state.phase[0].toUpperCase() + state.phase.slice(1) : "Starting"}…`
      : `${state.files_done || 0}${of} files${rate}`,
    completed: `Done: ${state.files_done || 0} files.`,
    cancelled: `Cancelled after ${state.files_done || 0} files. What was indexed so far is kept.`,
    failed: `Failed: ${state.message || "see the errors below"}`,
  };
  $("job-text").textContent = words[state.state] || state.message || state.state;
  $("job-text").dataset.state = state.state;
  $("job-cancel").hidden = FINAL.has(state.state);
  $("job-errors").replaceChildren(
    ...(state.errors || []).map((e) => el("li", {}, el("code", { text: e.path }), " — ", e.reason)),
  );
  if (FINAL.has(state.state)) {
    $("job-start").disabled = false;
    refreshSummary();
  }
}

async function follow(id) {
  job?.abort.abort();
  const abort = new AbortController();
  job = { id, abort };
  let last = null;
  try {
    await streamEvents(`/jobs/${id}/events`, (state) => {
      last = state;
      showJob(state);
    }, abort.signal);
    // The stream may end before the final state is sent (a proxy, a restart): ask once more.
    if (!abort.signal.aborted && !FINAL.has(last?.state)) showJob(await api.job(id));
  } catch (err) {
    if (!abort.signal.aborted) showJobError(err.message);
  }
}

function showJobError(message) {
  $("job").hidden = false;
  $("job-text").textContent = message;
  $("job-text").dataset.state = "error";
  $("job-start").disabled = false;
  $("job-cancel").hidden = true;
}

export function setupIndexView() {
  $("job-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const path = $("job-path").value.trim();
    if (!path) return;
    $("job-start").disabled = true;
    $("job-root").textContent = path;
    try {
      const started = await api.startJob(path, $("job-prune").checked);
      showJob({ files_done: 0, files_total: null, errors: [], ...started });
      follow(started.job_id);
    } catch (err) {
      showJobError(`Could not start indexing ${path}: ${err.message}`);
    }
  });
  $("job-cancel").addEventListener("click", async () => {
    if (!job) return;
    $("job-cancel").disabled = true;
    try {
      await api.cancelJob(job.id);
      $("job-text").textContent = "Cancelling at the next safe point…";
    } catch (err) {
      showJobError(`Could not cancel: ${err.message}`);
    } finally {
      $("job-cancel").disabled = false;
    }
  });
}
