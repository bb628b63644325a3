// The tutor panel: speaks the ChatKit protocol to /api/v1/chatkit with a JWT
// from the session, streams replies as they arrive, keeps a thread list, and
// offers "Ask AI" on text selected in the lesson.
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

let threadId = null;
let quote = "";
let pending = null; // the message that has not reached the server yet
let countdown = null;

// --- panel --------------------------------------------------------------------------
function openPanel() {
  panel.hidden = false;
  toggle.setAttribute("aria-expanded", "true");
  input.focus();
  loadThreads();
}
function closePanel() {
  panel.hidden = true;
  toggle.setAttribute("aria-expanded", "false");
  toggle.focus();
}
toggle.addEventListener("click", () => (panel.hidden ? openPanel() : closePanel()));
document.getElementById("chat-close").addEventListener("click", closePanel);
panel.addEventListener("keydown", (e) => { if (e.key === "Escape") closePanel(); });
document.getElementById("chat-new").addEventListener("click", () => {
  threadId = null;
  messages.replaceChildren();
  markCurrent();
  input.focus();
});

// --- rendering ------------------------------------------------------------------------
function bubble(role) {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  messages.append(div);
  messages.scrollTop = messages.scrollHeight;
  return div;
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
  const links = [...seen].map(([url, title]) => `<li><a href="${escapeHtml(url)}">${escapeHtml(title)}</a></li>`).join("");
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
    renderAssistant(bubble("assistant"), parts.map((c) => c.text || "").join(""), parts.flatMap((c) => c.annotations || []));
  }
}

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
  return api("/chatkit", { method: "POST", body: JSON.stringify(request) });
}

function pageContext() {
  const a = lesson?.dataset || {};
  return {
    url: location.pathname,
    title: document.title,
    headings: [...document.querySelectorAll(".lesson-body h2, .lesson-body h3")].map((h) => h.textContent.trim()).slice(0, 50),
    course: a.course,
    stage: a.stage,
    lesson: a.lesson,
    selectedText: quote || undefined,
  };
}

/** Reads an SSE response and applies each ChatKit event as it arrives. */
async function consume(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let current = null; // { div, text, annotations }
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
          threadId = ev.thread.id;
          break;
        case "thread.item.added":
          if (ev.item.type === "assistant_message") current = { div: bubble("assistant"), text: "", annotations: [] };
          break;
        case "thread.item.updated": {
          const u = ev.update || {};
          if (!current) current = { div: bubble("assistant"), text: "", annotations: [] };
          if (u.type === "assistant_message.content_part.text_delta") current.text += u.delta;
          if (u.type === "assistant_message.content_part.annotation_added") current.annotations.push(u.annotation);
          if (u.type === "assistant_message.content_part.done") current.text = u.content.text;
          renderAssistant(current.div, current.text, current.annotations);
          break;
        }
        case "thread.item.done":
          if (ev.item.type === "assistant_message") {
            const parts = ev.item.content || [];
            if (!current) current = { div: bubble("assistant") };
            renderAssistant(current.div, parts.map((c) => c.text || "").join(""), parts.flatMap((c) => c.annotations || []));
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
  const metadata = { page: pageContext() };
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

async function openThread(id) {
  clearError();
  const res = await chatkit({ type: "items.list", params: { thread_id: id, limit: 100, order: "asc" } });
  if (!res.ok) { await showHttpError(res); return; }
  threadId = id;
  messages.replaceChildren();
  for (const item of (await res.json()).data || []) renderItem(item);
  markCurrent();
}

async function deleteThread(id) {
  if (!confirm("Delete this thread? This cannot be undone.")) return;
  const res = await chatkit({ type: "threads.delete", params: { thread_id: id } });
  if (!res.ok) { await showHttpError(res); return; }
  if (threadId === id) { threadId = null; messages.replaceChildren(); }
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

// Warm the token so the first message is quick.
apiToken().catch(() => {});
