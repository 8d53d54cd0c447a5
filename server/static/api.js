// The server's HTTP API (server/API.md): one fetch wrapper that adds the token and turns every failure
// into an ApiError whose message is written for people.

const PREFIX = "/api/v1";
const TOKEN_KEY = "anyseek.token";

export class ApiError extends Error {
  constructor(message, { code = "error", status = 0 } = {}) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// The token arrives in the URL fragment (never sent to the server); keep it for this tab and take it out of
// the address bar so it is not bookmarked or shared by accident.
export function takeTokenFromLocation() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function headers(extra = {}) {
  const out = { ...extra };
  if (token()) out.Authorization = `Bearer ${token()}`;
  return out;
}

// <img> and <audio> cannot send a header: the server's file URLs carry an access code for their one item
// (server/API.md), so the browser loads them itself and streams a recording or a video, seeking in it,
// instead of downloading it whole first.
export function setSource(element, url) {
  if (url) element.src = url;
}

const UNREACHABLE = "Cannot reach the anyseek server. Is `anyseek serve` still running?";

async function failure(response) {
  let code = `http_${response.status}`;
  let message = "";
  try {
    const body = await response.json();
    code = body?.error?.code || code;
    message = body?.error?.message || "";
  } catch {
    // not JSON: a proxy or a crashed server; the status line below says enough
  }
  if (response.status === 401) {
    // the server's message speaks to API clients (a header); a person needs the link with the token
    message = "This needs the access token: open the link that `anyseek serve` printed.";
  } else if (response.status === 403) {
    message ||= "This needs the access token: open the link that `anyseek serve` printed.";
  }
  return new ApiError(message || `The server answered ${response.status} ${response.statusText}.`, {
    code,
    status: response.status,
  });
}

export async function request(method, path, { json, form, signal } = {}) {
  const init = { method, signal, headers: headers(json ? { "Content-Type": "application/json" } : {}) };
  if (json) init.body = JSON.stringify(json);
  if (form) init.body = form;
  let response;
  try {
    response = await fetch(PREFIX + path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(UNREACHABLE, { code: "unreachable" });
  }
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return response.json();
}

export const api = {
  health: (signal) => request("GET", "/health", { signal }),
  search: (body, signal) => request("POST", "/search", { json: body, signal }),
  upload: (file, fields, signal) => {
    const form = new FormData();
    form.append("file", file, file.name || "query");
    for (const [key, value] of Object.entries(fields)) if (value !== "" && value != null) form.append(key, value);
    return request("POST", "/search/upload", { form, signal });
  },
  item: (id, signal) => request("GET", `/items/${id}`, { signal }),
  status: (signal) => request("GET", "/status", { signal }),
  duplicates: ({ tier = "", offset = 0, limit = 50 } = {}, signal) => {
    const query = new URLSearchParams({ offset, limit });
    if (tier) query.append("tier", tier);
    return request("GET", `/duplicates?${query}`, { signal });
  },
  startJob: (path, prune) => request("POST", "/jobs/index", { json: { path, prune } }),
  job: (id) => request("GET", `/jobs/${id}`),
  cancelJob: (id) => request("DELETE", `/jobs/${id}`),
};

// Server-sent events read through fetch (EventSource cannot send the Authorization header). Calls onEvent
// with each parsed `data:` object until the stream ends or the signal aborts.
export async function streamEvents(path, onEvent, signal) {
  let response;
  try {
    response = await fetch(PREFIX + path, { headers: headers({ Accept: "text/event-stream" }), signal });
  } catch (err) {
    if (err.name === "AbortError") return;
    throw new ApiError(UNREACHABLE, { code: "unreachable" });
  }
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (err.name === "AbortError") return;
      throw new ApiError(UNREACHABLE, { code: "unreachable" });
    }
    if (chunk.done) return;
    buffer += chunk.value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}
