// The tutor panel: speaks the ChatKit protocol to /api/v1/chatkit with a JWT
// from the session, streams replies as they arrive, keeps a thread list, and
// offers "Ask AI" on text selected in the lesson. The open thread and whether
// the panel is open survive reloads and moves between lessons; a citation
// opens its section beside the chat and highlights it.
import { api, apiToken, show } from "/assets/pages.js";
import { escapeHtml, renderMarkdown } from "/assets/markdown.js";

const panel = document.getElementById("chat-panel");
const toggle = document.getElementById("chat-toggle");
const messages = document.getElementById("chat-messages");
const form = document.getElementById("chat-form");
const input = document.getElementById("chat-input");
const quoteBox = document.getElementById("chat-quote");
const errorBox = document.getElementById("chat-error");
const retryBtn = document.getElementById("chat-retry");
const threadList = document.getElementById("chat-threads");
const askAi = document.getElementById("ask-ai");
const lesson = document.getElementById("lesson");
const empty = document.getElementById("chat-empty");
const suggestions = document.getElementById("chat-suggestions");
const leftBox = document.getElementById("chat-left");
const announce = document.getElementById("chat-announce");
const isStudent = panel.dataset.student === "true";
document.body.classList.add("has-tutor");

// Where the panel's state lives between pages: this browser only.
const STATE_KEY = "intellistack.tutor";
const HIGHLIGHT_KEY = "intellistack.tutor.highlight";
function loadState() {
  try { return JSON.parse(localStorage.getItem(STATE_KEY) || "{}") || {}; } catch { return {}; }
}
function saveState(patch) {
  try { localStorage.setItem(STATE_KEY, JSON.stringify({ ...loadState(), ...patch })); } catch { /* private mode */ }
}

let threadId = null;
let quote = "";
let pending = null; // the message that has not reached the server yet
let countdown = null;

// --- panel --------------------------------------------------------------------------
function openPanel(focus = true) {
  panel.hidden = false;
  document.body.classList.add("chat-open");
  toggle.setAttribute("aria-expanded", "true");
  saveState({ open: true });
  if (focus) input.focus();
  loadThreads();
}
function closePanel() {
  panel.hidden = true;
  document.body.classList.remove("chat-open");
  toggle.setAttribute("aria-expanded", "false");
  saveState({ open: false });
  toggle.focus();
}
toggle.addEventListener("click", () => (panel.hidden ? openPanel() : closePanel()));
document.getElementById("chat-close").addEventListener("click", closePanel);
panel.addEventListener("keydown", (e) => { if (e.key === "Escape") closePanel(); });
document.getElementById("chat-new").addEventListener("click", () => {
  setThread(null);
  clearMessages();
  markCurrent();
  input.focus();
});

function setThread(id) {
  threadId = id;
  saveState({ thread: id });
}

function clearMessages() {
  for (const el of [...messages.children]) if (el !== empty) el.remove();
  updateEmpty();
}

function updateEmpty() {
  empty.hidden = [...messages.children].some((el) => el !== empty);
}

// --- the empty state: three questions drawn from this lesson -----------------------------
function suggestedQuestions() {
  const heads = [...document.querySelectorAll(".lesson-body h2")].map((h) => h.textContent.trim()).filter(Boolean);
  const out = [];
  if (heads[0]) out.push(`What is the main idea of “${heads[0]}”?`);
  if (heads[1]) out.push(`Why does “${heads[1]}” matter for a real robot?`);
  const exercise = document.querySelector(".exercise .prompt");
  if (exercise) out.push("How should I start on the first exercise?");
  else if (heads[2]) out.push(`Can you give an example of “${heads[2]}”?`);
  const title = lesson?.querySelector("h1")?.textContent.trim();
  if (out.length < 3 && title) out.push(`What should I remember from “${title}”?`);
  return out.slice(0, 3);
}

for (const q of suggestedQuestions()) {
  const li = document.createElement("li");
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary small suggestion";
  b.textContent = q;
  b.addEventListener("click", () => { input.value = q; form.requestSubmit(); });
  li.append(b);
  suggestions.append(li);
}

// --- messages left today, from the X-RateLimit-Remaining of every answer ---------------
function showLeft(res) {
  const left = res.headers.get("x-ratelimit-remaining");
  if (!isStudent || left === null) return;
  leftBox.textContent = `${left} message${left === "1" ? "" : "s"} left today`;
  leftBox.dataset.left = left;
  leftBox.hidden = false;
}

// --- rendering ------------------------------------------------------------------------
function bubble(role) {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  messages.append(div);
  updateEmpty();
  messages.scrollTop = messages.scrollHeight;
  return div;
}

// Streaming: finished Markdown blocks are rendered once and kept; only the
// block being written is rendered again, at most once per frame.
function lastBoundary(text, from) {
  let cut = from;
  let fence = false;
  let at = from;
  for (const line of text.slice(from).split("\n")) {
    at += line.length + 1;
    if (/^```/.test(line)) fence = !fence;
    else if (!fence && line.trim() === "" && at <= text.length) cut = at;
  }
  return cut;
}

function streamer(div) {
  const done = document.createElement("div");
  const live = document.createElement("div");
  div.replaceChildren(done, live);
  let text = "";
  let committed = 0;
  let frame = 0;
  const paint = () => {
    frame = 0;
    const cut = lastBoundary(text, committed);
    if (cut > committed) {
      done.insertAdjacentHTML("beforeend", renderMarkdown(text.slice(committed, cut)));
      committed = cut;
    }
    live.innerHTML = renderMarkdown(text.slice(committed));
    div.dataset.paints = String(Number(div.dataset.paints || 0) + 1);
    const near = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
    if (near) messages.scrollTop = messages.scrollHeight;
  };
  return {
    div,
    get text() { return text; },
    append(delta) {
      text += delta;
      if (!frame) frame = requestAnimationFrame(paint);
    },
    finish(full, annotations) {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      renderAssistant(div, full, annotations);
      div.dataset.done = "true";
    },
  };
}

function renderUser(text, quoted) {
  const div = bubble("user");
  div.innerHTML = (quoted ? `<blockquote>${escapeHtml(quoted)}</blockquote>` : "") + `<p>${escapeHtml(text)}</p>`;
}

function sourcesHtml(annotations) {
  const seen = new Map();
  for (const a of annotations || []) {
    const s = a.source || {};
    if (s.url && !seen.has(s.url) && /^(\/(?!\/)|https?:\/\/)/.test(s.url)) seen.set(s.url, s.title || s.url);
  }
  if (!seen.size) return "";
  const links = [...seen].map(([url, title]) => `<li><a class="cite" href="${escapeHtml(url)}">${escapeHtml(title)}</a></li>`).join("");
  return `<div class="sources"><strong>Sources</strong><ul>${links}</ul></div>`;
}

function renderAssistant(div, text, annotations) {
  div.innerHTML = renderMarkdown(text) + sourcesHtml(annotations);
  messages.scrollTop = messages.scrollHeight;
}

function renderItem(item) {
  if (item.type === "user_message") {
    const text = (item.content || []).map((c) => c.text || "").join("");
    renderUser(text, item.quoted_text);
  } else if (item.type === "assistant_message") {
    const parts = item.content || [];
    const div = bubble("assistant");
    renderAssistant(div, parts.map((c) => c.text || "").join(""), parts.flatMap((c) => c.annotations || []));
    div.dataset.done = "true";
  }
}

// --- citations: the cited section opens beside the chat, highlighted --------------------
function highlight(hash) {
  for (const el of document.querySelectorAll(".cited")) el.classList.remove("cited");
  const body = document.querySelector(".lesson-body");
  if (!body) return false;
  const id = decodeURIComponent((hash || "").replace(/^#/, ""));
  let start = id ? document.getElementById(id) : null;
  if (id && !start) return false;
  const level = (el) => (/^H([1-6])$/.exec(el.tagName) || [])[1];
  const marked = [];
  if (start) {
    const mine = Number(level(start));
    marked.push(start);
    for (let el = start.nextElementSibling; el; el = el.nextElementSibling) {
      const l = Number(level(el));
      if (l && l <= mine) break;
      marked.push(el);
    }
  } else {
    // The lesson's opening text: everything before its first heading.
    for (const el of body.children) { if (level(el)) break; marked.push(el); }
    start = marked[0];
  }
  if (!start) return false;
  for (const el of marked) el.classList.add("cited");
  start.setAttribute("tabindex", "-1");
  start.scrollIntoView({ block: "start", behavior: "instant" });
  start.focus({ preventScroll: true });
  return true;
}

messages.addEventListener("click", (e) => {
  const a = e.target.closest("a");
  if (!a || !messages.contains(a)) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/learn/")) return;
  if (url.pathname === location.pathname) {
    e.preventDefault();
    history.replaceState(null, "", url.hash || location.pathname);
    highlight(url.hash);
    return;
  }
  // Another lesson: the panel and its thread come along (saved state), and
  // the passage is highlighted there.
  try { sessionStorage.setItem(HIGHLIGHT_KEY, url.pathname + url.hash); } catch { /* ignore */ }
});

// --- errors -----------------------------------------------------------------------------
function clearError() {
  if (countdown) clearInterval(countdown);
  countdown = null;
  show(errorBox, "");
  retryBtn.hidden = true;
}

function limitMessage(limit, resetAt) {
  const left = Math.max(0, resetAt * 1000 - Date.now());
  // Round up to whole minutes first, so 23h 59m 30s reads "24h 0m", never "23h 60m".
  const minutes = Math.ceil(left / 60_000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `You've reached your daily message limit (${limit}/${limit}). Resets in ${h}h ${m}m.`;
}

async function showHttpError(res) {
  let body = {};
  try { body = await res.json(); } catch { body = {}; }
  // The API answers {error: {code, message}}.
  const err = body.error || body;
  if (res.status === 429) {
    const limit = res.headers.get("x-ratelimit-limit") || panel.dataset.limit;
    const resetAt = Number(res.headers.get("x-ratelimit-reset")) || Date.now() / 1000 + 86_400;
    show(errorBox, limitMessage(limit, resetAt));
    // Tick every second but write only when the minute changes, so a screen reader
    // hears the alert once per change rather than once per tick.
    countdown = setInterval(() => {
      const text = limitMessage(limit, resetAt);
      if (errorBox.textContent !== text) show(errorBox, text);
    }, 1_000);
    return false;
  }
  if (res.status === 403 && err.code === "EMAIL_NOT_VERIFIED") {
    show(errorBox, "Email verification required to use AI tutor");
    return false;
  }
  if (res.status === 503 || res.status === 502 || res.status === 504) {
    show(errorBox, "Chat temporarily unavailable — please try again later");
    return true;
  }
  show(errorBox, err.message || `The tutor could not answer (${res.status}).`);
  return true;
}

// --- the protocol --------------------------------------------------------------------------
async function chatkit(request) {
  const res = await api("/chatkit", { method: "POST", body: JSON.stringify(request) });
  showLeft(res);
  return res;
}

function pageContext(selected) {
  const a = lesson?.dataset || {};
  return {
    url: location.pathname,
    title: document.title,
    headings: [...document.querySelectorAll(".lesson-body h2, .lesson-body h3")].map((h) => h.textContent.trim()).slice(0, 50),
    course: a.course,
    stage: a.stage,
    lesson: a.lesson,
    selectedText: selected || undefined,
  };
}

function plain(md) {
  const d = document.createElement("div");
  d.innerHTML = renderMarkdown(md);
  return d.textContent.replace(/\s+/g, " ").trim();
}

/** Reads an SSE response and applies each ChatKit event as it arrives. */
async function consume(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let current = null; // a streamer
  let annotations = [];
  const start = () => { current = streamer(bubble("assistant")); annotations = []; };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (!data) continue;
      let ev;
      try { ev = JSON.parse(data); } catch { continue; }
      switch (ev.type) {
        case "thread.created":
          setThread(ev.thread.id);
          break;
        case "thread.item.added":
          if (ev.item.type === "assistant_message") start();
          break;
        case "thread.item.updated": {
          const u = ev.update || {};
          if (!current) start();
          if (u.type === "assistant_message.content_part.text_delta") current.append(u.delta);
          if (u.type === "assistant_message.content_part.annotation_added") annotations.push(u.annotation);
          break;
        }
        case "thread.item.removed":
          // A withdrawn draft disappears; the next one starts fresh.
          if (current) { current.div.remove(); current = null; updateEmpty(); }
          break;
        case "thread.item.done":
          if (ev.item.type === "assistant_message") {
            const parts = ev.item.content || [];
            if (!current) start();
            const text = parts.map((c) => c.text || "").join("");
            current.finish(text, parts.flatMap((c) => c.annotations || []));
            // Only a finished reply is announced, once.
            announce.textContent = `Tutor: ${plain(text)}`;
            current = null;
          }
          break;
        case "notice": {
          const div = bubble("notice");
          div.textContent = ev.message;
          break;
        }
        case "error":
          show(errorBox, ev.message || "The tutor could not answer. Try again.");
          retryBtn.hidden = !ev.allow_retry;
          break;
        default:
          break;
      }
    }
  }
}

async function send(text, quoted) {
  clearError();
  const input = { content: [{ type: "input_text", text }], quoted_text: quoted || null, attachments: [], inference_options: {} };
  const metadata = { page: pageContext(quoted) };
  const request = threadId
    ? { type: "threads.add_user_message", params: { thread_id: threadId, input }, metadata }
    : { type: "threads.create", params: { input }, metadata };
  pending = { text, quoted };
  let res;
  try {
    res = await chatkit(request);
  } catch {
    // Nothing reached the server: keep the message for a retry.
    show(errorBox, "Connection lost. Your message was not sent.");
    retryBtn.hidden = false;
    return;
  }
  if (!res.ok) {
    const retry = await showHttpError(res);
    retryBtn.hidden = !retry;
    return;
  }
  pending = null;
  renderUser(text, quoted);
  try {
    await consume(res);
  } catch {
    // The question is saved; only the reply was cut off. Reload the thread.
    show(errorBox, "Connection lost while the tutor was answering. The thread is saved; open it again to see the reply.");
  }
  loadThreads();
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  const quoted = quote;
  input.value = "";
  setQuote("");
  const button = document.getElementById("chat-send");
  button.disabled = true;
  await send(text, quoted);
  button.disabled = false;
  if (pending) { input.value = pending.text; setQuote(pending.quoted || ""); }
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
});
retryBtn.addEventListener("click", () => { if (pending || input.value.trim()) form.requestSubmit(); });

// --- threads ---------------------------------------------------------------------------------
function markCurrent() {
  for (const li of threadList.children) li.classList.toggle("current", li.dataset.id === threadId);
}

async function loadThreads() {
  let res;
  try { res = await chatkit({ type: "threads.list", params: { limit: 30, order: "desc" } }); } catch { return; }
  if (!res.ok) return;
  const page = await res.json();
  threadList.replaceChildren();
  for (const t of page.data || []) {
    const li = document.createElement("li");
    li.dataset.id = t.id;
    const open = document.createElement("button");
    open.type = "button";
    open.className = "open";
    const when = new Date(t.updated_at || t.created_at);
    open.innerHTML = `${escapeHtml(t.title || "New conversation")}<time datetime="${escapeHtml(when.toISOString())}">${escapeHtml(when.toLocaleString())}</time>`;
    open.addEventListener("click", () => openThread(t.id));
    const del = document.createElement("button");
    del.type = "button";
    del.className = "secondary small";
    del.textContent = "Delete";
    del.setAttribute("aria-label", `Delete ${t.title || "this thread"}`);
    del.addEventListener("click", () => deleteThread(t.id));
    li.append(open, del);
    threadList.append(li);
  }
  markCurrent();
}

async function openThread(id, quiet = false) {
  clearError();
  let res;
  try { res = await chatkit({ type: "items.list", params: { thread_id: id, limit: 100, order: "asc" } }); } catch { return; }
  if (!res.ok) {
    // A thread deleted elsewhere is simply gone.
    if (res.status === 404) { setThread(null); return; }
    if (!quiet) await showHttpError(res);
    return;
  }
  setThread(id);
  clearMessages();
  for (const item of (await res.json()).data || []) renderItem(item);
  messages.scrollTop = messages.scrollHeight;
  markCurrent();
}

async function deleteThread(id) {
  if (!confirm("Delete this thread? This cannot be undone.")) return;
  const res = await chatkit({ type: "threads.delete", params: { thread_id: id } });
  if (!res.ok) { await showHttpError(res); return; }
  if (threadId === id) { setThread(null); clearMessages(); }
  loadThreads();
}

// --- Ask AI on a selection ----------------------------------------------------------------------
function setQuote(text) {
  quote = text;
  quoteBox.textContent = text;
  quoteBox.hidden = !text;
}

function selectionInLesson() {
  const sel = window.getSelection();
  if (!sel || sel.isCollapsed || !lesson) return null;
  const range = sel.getRangeAt(0);
  if (!lesson.contains(range.commonAncestorContainer)) return null;
  const text = sel.toString().trim();
  return text ? { text: text.slice(0, 4000), rect: range.getBoundingClientRect() } : null;
}

document.addEventListener("selectionchange", () => {
  const s = selectionInLesson();
  if (!s) { askAi.hidden = true; return; }
  askAi.style.top = `${window.scrollY + s.rect.bottom + 6}px`;
  askAi.style.left = `${Math.max(8, window.scrollX + s.rect.left)}px`;
  askAi.hidden = false;
});
// mousedown, so the selection is still there when we read it.
askAi.addEventListener("mousedown", (e) => e.preventDefault());
askAi.addEventListener("click", () => {
  const s = selectionInLesson();
  if (!s) return;
  setQuote(s.text);
  askAi.hidden = true;
  openPanel();
  if (!input.value) input.value = "Can you help me understand this?";
});

// Signing out forgets the open thread on this browser.
for (const el of document.querySelectorAll("[data-action=sign-out]")) {
  el.addEventListener("click", () => { try { localStorage.removeItem(STATE_KEY); } catch { /* ignore */ } });
}

// --- back where the student left off -------------------------------------------------------
const saved = loadState();
if (saved.open) openPanel(false);
if (saved.thread) openThread(saved.thread, true);
else if (!saved.open) chatkit({ type: "threads.list", params: { limit: 1 } }).catch(() => {});
try {
  const target = sessionStorage.getItem(HIGHLIGHT_KEY);
  if (target) {
    sessionStorage.removeItem(HIGHLIGHT_KEY);
    const url = new URL(target, location.href);
    if (url.pathname === location.pathname) highlight(url.hash);
  }
} catch { /* ignore */ }

// Warm the token so the first message is quick.
apiToken().catch(() => {});
