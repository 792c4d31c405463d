// The labeling page of the feedback gateway: one label request at a time, ranked by click, number
// key or drag, ties marked with "=", submitted with Enter. It talks only to the gateway's JSON API
// (same origin) with the bearer token the labeler pastes in; the token lives in sessionStorage
// (this tab) and is never read from or written to the address bar.
"use strict";

const TOKEN = "rlhf.gateway.token";
const LABELER = "rlhf.gateway.labeler";
const STATUS_EVERY_MS = 4000;
const IDLE_RETRY_MS = 3000;

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN),
  labeler: localStorage.getItem(LABELER),
  request: null, // the label request on screen
  ranked: [], // [{answer, tied}] best first; tied: same rank as the entry above
  key: null, // idempotency key of this request's submission: a resend counts once
  busy: false,
  idleTimer: null,
};

// ---- the API ----

class ApiError extends Error {
  // retry: the same call may succeed later (the gateway said Retry-After, or did not answer)
  constructor(status, message, retry) {
    super(message);
    this.status = status;
    this.retry = retry;
  }
}

async function api(method, path, body, extraHeaders) {
  const headers = Object.assign({ Authorization: "Bearer " + state.token }, extraHeaders || {});
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (e) {
    throw new ApiError(0, "the gateway does not answer; is it running?", true);
  }
  if (response.status === 204) return null;
  let json = null;
  try {
    json = await response.json();
  } catch (e) {
    // not JSON (a proxy's error page): fall through with the status
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      (json && json.error) || "HTTP " + response.status,
      // the gateway says Retry-After when a retry may succeed; a proxy's 502-504 page may too
      response.headers.has("Retry-After") || (!json && response.status >= 502 && response.status <= 504)
    );
  }
  return json;
}

function randomKey() {
  // crypto.randomUUID needs a secure context; getRandomValues works on plain http too
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- screens ----

function show(screen) {
  for (const id of ["signin", "task", "idle"]) $(id).hidden = id !== screen;
  const signedIn = screen !== "signin";
  $("signout").hidden = !signedIn;
  $("who").textContent = signedIn ? state.labeler : "";
}

function say(text, tone) {
  const m = $("message");
  m.textContent = text || "";
  m.className = tone || "";
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN);
  state.token = null;
  state.request = null;
  clearTimeout(state.idleTimer);
  $("token").value = "";
  $("labeler").value = state.labeler || "";
  $("signin-error").textContent = reason || "";
  show("signin");
  $(state.labeler ? "token" : "labeler").focus();
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  const labeler = $("labeler").value.trim().normalize("NFKC");
  if (!/^[\p{L}\p{M}\p{N}._@/+:-]{1,100}$/u.test(labeler)) {
    $("signin-error").textContent = "A labeler id is 1-100 letters, digits or ._@/+:- (no spaces)";
    return;
  }
  state.token = token;
  state.labeler = labeler;
  try {
    await refreshStatus();
  } catch (e) {
    state.token = null;
    $("signin-error").textContent = e.status === 401 ? "That token is not the gateway's." : e.message;
    return;
  }
  sessionStorage.setItem(TOKEN, token);
  localStorage.setItem(LABELER, labeler);
  $("signin-error").textContent = "";
  loadNext();
}

// ---- status ----

async function refreshStatus() {
  const s = await api("GET", "/api/status?labeler=" + encodeURIComponent(state.labeler));
  // what is left for this labeler: a request they skipped waits for others, not for them
  $("waiting").textContent = s.waitingForLabeler + " waiting for you";
  $("rm").textContent = "reward model v" + s.rewardVersion;
  $("mine").textContent = "you: " + (s.mine || 0);
}

async function pollStatus() {
  if (state.token) {
    try {
      await refreshStatus();
    } catch (e) {
      if (e.status === 401) signOut("The gateway no longer accepts this token.");
    }
  }
  setTimeout(pollStatus, STATUS_EVERY_MS);
}

// ---- one request ----

async function loadNext() {
  clearTimeout(state.idleTimer);
  let request;
  try {
    request = await api("GET", "/api/requests/next?labeler=" + encodeURIComponent(state.labeler));
  } catch (e) {
    if (e.status === 401) return signOut("The gateway no longer accepts this token.");
    show("idle");
    say(e.message, "bad");
    state.idleTimer = setTimeout(loadNext, IDLE_RETRY_MS);
    return;
  }
  if (!request) {
    state.request = null;
    show("idle");
    state.idleTimer = setTimeout(loadNext, IDLE_RETRY_MS);
    return;
  }
  state.request = request;
  state.ranked = [];
  state.key = randomKey();
  $("prompt").textContent = request.prompt.replace(/\n$/, "");
  $("meta").textContent =
    request.responses.length + " answers · policy v" + request.policyVersion +
    " · reward model v" + request.rewardVersion + " · request " + request.requestId;
  show("task");
  render();
}

function ranksOf(ranked, k) {
  // dense ranks, 0 best: a tie shares the rank of the entry above it
  const ranks = new Array(k).fill(null);
  let rank = -1;
  ranked.forEach((entry, i) => {
    if (i === 0 || !entry.tied) rank++;
    ranks[entry.answer] = rank;
  });
  return ranks;
}

function rankAnswer(answer, position) {
  if (!state.request || state.busy) return;
  if (state.ranked.some((e) => e.answer === answer)) return;
  insert({ answer, tied: false }, position === undefined ? state.ranked.length : position);
  say("");
  render();
}

// Puts entry at position at. Dropped inside a tie (just above an answer tied to the one before it),
// it joins that tie, so the answers around it keep their ranks relative to each other.
function insert(entry, at) {
  entry.tied = at > 0 && at < state.ranked.length && state.ranked[at].tied;
  state.ranked.splice(at, 0, entry);
}

// Takes entry i out of the ranking, leaving every other answer's ties as they were: an answer tied
// to the one taken out heads what is left of its tie ("tied" means "with the entry above").
function detach(i) {
  const [entry] = state.ranked.splice(i, 1);
  if (!entry.tied && i < state.ranked.length) state.ranked[i].tied = false;
  if (state.ranked.length > 0) state.ranked[0].tied = false;
  return entry;
}

function unrank(answer) {
  const i = state.ranked.findIndex((e) => e.answer === answer);
  if (i < 0) return;
  detach(i);
  render();
}

function toggleTie(index) {
  if (index <= 0 || index >= state.ranked.length) return;
  state.ranked[index].tied = !state.ranked[index].tied;
  render();
}

function move(answer, toIndex) {
  const from = state.ranked.findIndex((e) => e.answer === answer);
  if (from < 0) return rankAnswer(answer, toIndex);
  if (toIndex === from || toIndex === from + 1) return; // dropped where it is: nothing changes
  const entry = detach(from);
  insert(entry, from < toIndex ? toIndex - 1 : toIndex);
  render();
}

async function submit() {
  const request = state.request;
  if (!request || state.busy) return;
  const k = request.responses.length;
  if (state.ranked.length === k - 1) {
    // Enter with one answer left: it is the worst
    const left = request.responses.findIndex((_, i) => !state.ranked.some((e) => e.answer === i));
    state.ranked.push({ answer: left, tied: false });
    render();
  }
  if (state.ranked.length !== k) {
    say("Rank all " + k + " answers first (or skip).", "bad");
    return;
  }
  state.busy = true;
  render();
  say("Saving…");
  try {
    const saved = await api(
      "POST",
      "/api/comparisons",
      { requestId: request.requestId, ranks: ranksOf(state.ranked, k), labelerId: state.labeler },
      { "Idempotency-Key": state.key }
    );
    say("Saved (" + saved.comparisonId + ")", "good");
    state.busy = false;
    refreshStatus().catch(() => {});
    loadNext();
  } catch (e) {
    state.busy = false;
    render();
    if (e.status === 401) return signOut("The gateway no longer accepts this token.");
    if (e.retry) {
      // the ranking stays on screen; submitting again reuses the key, so it counts once
      say(e.message + " (press Enter to try again)", "bad");
    } else {
      say(e.message, "bad");
    }
  }
}

async function skip() {
  const request = state.request;
  if (!request || state.busy) return;
  try {
    await api("POST", "/api/skips", { requestId: request.requestId, labelerId: state.labeler });
  } catch (e) {
    if (e.status === 401) return signOut("The gateway no longer accepts this token.");
    // not recorded: say why, and keep the request on screen
    return say(e.message, "bad");
  }
  say("Skipped.");
  refreshStatus().catch(() => {});
  loadNext();
}

// ---- drawing ----

function answerItem(answer, text) {
  const li = document.createElement("li");
  li.className = "answer";
  li.draggable = true;
  li.dataset.answer = String(answer);
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  li.addEventListener("dragstart", (e) => {
    e.dataTransfer.setData("text/plain", String(answer));
    li.classList.add("dragging");
  });
  li.addEventListener("dragend", () => li.classList.remove("dragging"));
  return [li, body];
}

function render() {
  const request = state.request;
  if (!request) return;
  const k = request.responses.length;
  const ranks = ranksOf(state.ranked, k);

  const pool = $("pool");
  pool.replaceChildren();
  request.responses.forEach((text, i) => {
    if (ranks[i] !== null) return;
    const [li, body] = answerItem(i, text);
    const key = document.createElement("span");
    key.className = "key";
    key.textContent = String(i + 1);
    li.title = "Rank next (key " + (i + 1) + ")";
    li.append(key, body);
    li.addEventListener("click", () => rankAnswer(i));
    pool.append(li);
  });
  if (pool.children.length === 0) {
    const done = document.createElement("li");
    done.className = "placeholder";
    done.textContent = "All answers ranked.";
    pool.append(done);
  }

  const ranked = $("ranked");
  ranked.replaceChildren();
  state.ranked.forEach((entry, index) => {
    const [li, body] = answerItem(entry.answer, request.responses[entry.answer]);
    if (entry.tied) li.classList.add("tied");
    const rank = document.createElement("span");
    rank.className = "rank";
    rank.textContent = String(ranks[entry.answer] + 1);
    li.title = "Click to take it back; drag to reorder";
    li.append(rank, body);
    if (index > 0) {
      const tie = document.createElement("button");
      tie.type = "button";
      tie.className = "tie-toggle";
      tie.textContent = "=";
      tie.title = "Tie with the answer above";
      tie.addEventListener("click", (e) => {
        e.stopPropagation();
        toggleTie(index);
      });
      li.append(tie);
    }
    li.addEventListener("click", () => unrank(entry.answer));
    li.addEventListener("dragover", (e) => e.preventDefault());
    li.addEventListener("drop", (e) => {
      e.preventDefault();
      e.stopPropagation();
      ranked.classList.remove("over");
      move(Number(e.dataTransfer.getData("text/plain")), index);
    });
    ranked.append(li);
  });
  if (state.ranked.length === 0) {
    const hint = document.createElement("li");
    hint.className = "placeholder";
    hint.textContent = "Nothing ranked yet: the first answer you pick is the best.";
    ranked.append(hint);
  }

  const complete = state.ranked.length >= k - 1;
  $("submit").disabled = state.busy || !complete;
  $("tie").disabled = state.busy || state.ranked.length < 2;
  $("undo").disabled = state.busy || state.ranked.length === 0;
  $("skip").disabled = state.busy;
}

// ---- wiring ----

function onKey(e) {
  if (e.target instanceof HTMLInputElement || !state.request || $("task").hidden) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (/^[1-9]$/.test(e.key)) {
    const answer = Number(e.key) - 1;
    if (answer < state.request.responses.length) rankAnswer(answer);
    e.preventDefault();
  } else if (e.key === "Enter") {
    submit();
    e.preventDefault();
  } else if (e.key === "t" || e.key === "T" || e.key === "=") {
    toggleTie(state.ranked.length - 1);
  } else if (e.key === "Backspace") {
    if (state.ranked.length > 0) unrank(state.ranked[state.ranked.length - 1].answer);
    e.preventDefault();
  } else if (e.key === "s" || e.key === "S") {
    skip();
  }
}

function init() {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut(""));
  $("submit").addEventListener("click", submit);
  $("skip").addEventListener("click", skip);
  $("tie").addEventListener("click", () => toggleTie(state.ranked.length - 1));
  $("undo").addEventListener("click", () => {
    if (state.ranked.length > 0) unrank(state.ranked[state.ranked.length - 1].answer);
  });
  const ranked = $("ranked");
  ranked.addEventListener("dragover", (e) => {
    e.preventDefault();
    ranked.classList.add("over");
  });
  ranked.addEventListener("dragleave", () => ranked.classList.remove("over"));
  ranked.addEventListener("drop", (e) => {
    e.preventDefault();
    ranked.classList.remove("over");
    move(Number(e.dataTransfer.getData("text/plain")), state.ranked.length);
  });
  document.addEventListener("keydown", onKey);

  if (state.token && state.labeler) {
    show("task");
    loadNext();
  } else {
    signOut("");
  }
  pollStatus();
}

document.addEventListener("DOMContentLoaded", init);
