// Behaviour shared by every page: sign-out, the short-lived API token, and
// the small actions of the dashboard, lesson, account and admin pages.

export const UNAVAILABLE = "Sign-in is temporarily unavailable. Please try again in a few minutes.";

/** POST JSON to the auth role. Network failures and gateway errors become `unavailable`. */
export async function authPost(path, body) {
  let res;
  try {
    res = await fetch(`/api/auth${path}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body ?? {}),
    });
  } catch {
    return { ok: false, status: 0, unavailable: true, body: {} };
  }
  const text = await res.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = {}; }
  // Every auth route exists; a bare 404 means the auth service is not there.
  const missing = res.status === 404 && !text;
  return { ok: res.ok, status: res.status, unavailable: missing || [502, 503, 504].includes(res.status), body: data ?? {}, headers: res.headers };
}

let token = null;
let tokenExp = 0;

/** When `jwt` expires by this browser's clock: its lifetime (exp - iat) from now, so a
 *  clock that differs from the server's neither keeps a dead token nor refetches forever. */
function expiryOf(jwt) {
  try {
    const payload = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    const lifetime = payload.iat ? (payload.exp - payload.iat) * 1000 : payload.exp * 1000 - Date.now();
    return Date.now() + lifetime;
  } catch {
    return 0;
  }
}

/** A JWT for /api/v1, fetched from the session and renewed a minute before it expires. */
export async function apiToken(force = false) {
  if (!force && token && Date.now() < tokenExp - 60_000) return token;
  const res = await fetch("/api/auth/token", { credentials: "same-origin" });
  if (res.status === 401) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; throw new Error("signed out"); }
  if (!res.ok) throw new Error(`token ${res.status}`);
  token = (await res.json()).token;
  tokenExp = expiryOf(token);
  return token;
}

/** Calls /api/v1 with the bearer token; retries once with a fresh token on 401. */
export async function api(path, init = {}) {
  for (const force of [false, true]) {
    const headers = new Headers(init.headers || {});
    headers.set("authorization", `Bearer ${await apiToken(force)}`);
    if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
    const res = await fetch(`/api/v1${path}`, { ...init, headers });
    if (res.status !== 401) return res;
  }
  throw new Error("unauthorized");
}

export function show(el, text) {
  if (!el) return;
  el.textContent = text;
  el.hidden = !text;
}

function on(selector, event, handler) {
  document.addEventListener(event, (e) => {
    const target = e.target.closest(selector);
    if (target) handler(target, e);
  });
}

on("[data-action=sign-out]", "click", async () => {
  await authPost("/sign-out", {});
  location.href = "/login";
});

on("[data-action=stop-impersonating]", "click", async (btn) => {
  btn.disabled = true;
  const r = await authPost("/admin/stop-impersonating", {});
  if (r.ok) location.href = "/admin";
  else { btn.disabled = false; show(document.getElementById("service-banner"), r.body.message || "Could not return to your account; sign out and in again."); }
});

on("[data-impersonate]", "click", async (btn) => {
  if (!confirm(`Act as ${btn.dataset.email} for up to an hour? This is recorded in the audit log.`)) return;
  btn.disabled = true;
  const r = await authPost("/admin/impersonate-user", { userId: btn.dataset.impersonate });
  if (r.ok) location.href = "/dashboard";
  else { btn.disabled = false; show(document.getElementById("admin-error"), r.body.message || "Could not act as this user."); }
});

on("[data-enrol]", "click", async (btn) => {
  btn.disabled = true;
  const res = await api(`/courses/${encodeURIComponent(btn.dataset.enrol)}/enrol`, { method: "POST" });
  if (res.ok) location.reload();
  else btn.disabled = false;
});

on("[data-leave]", "click", async (btn) => {
  if (!confirm(`Leave ${btn.dataset.title}? Your progress is kept if you come back; your tutor conversations for it are deleted after ${btn.dataset.retentionDays} days.`)) return;
  btn.disabled = true;
  const res = await api(`/courses/${encodeURIComponent(btn.dataset.leave)}/leave`, { method: "POST" });
  if (res.ok) location.href = "/dashboard?notice=left";
  else btn.disabled = false;
});

/** Marks the lesson done; when that opened the next stage, names it and links its first lesson. */
function completed(el, done, course) {
  el.className = "done";
  el.setAttribute("role", "status");
  el.textContent = "✓ Completed";
  if (done.unlockedStage) {
    el.append(` — the stage “${done.unlockedTitle || done.unlockedStage}” is open: `);
    const a = document.createElement("a");
    a.id = "unlocked-link";
    a.href = done.unlockedFirst ? `/learn/${course}/${done.unlockedFirst}` : "/dashboard";
    a.textContent = done.unlockedFirst ? "start it" : "see it on your dashboard";
    el.append(a);
    const locked = document.getElementById("next-stage");
    if (locked) locked.hidden = true;
  }
}

on("#mark-complete", "click", async (btn) => {
  const a = document.getElementById("lesson").dataset;
  btn.disabled = true;
  const res = await api(`/courses/${a.course}/lessons/${a.stage}/${a.lesson}/complete`, { method: "POST" });
  if (res.ok) {
    const done = await res.json();
    const span = document.createElement("span");
    span.id = "lesson-status";
    completed(span, done, a.course);
    btn.replaceWith(span);
  } else {
    btn.disabled = false;
  }
});

// --- exercises ---------------------------------------------------------------
// Each exercise is a form: the answer is checked by the server, which says
// right or not yet, with the next hint or the worked explanation.
document.addEventListener("submit", async (e) => {
  const form = e.target.closest("form.exercise");
  if (!form) return;
  e.preventDefault();
  const feedback = form.querySelector(".feedback");
  const button = form.querySelector("button[type=submit]");
  let answer;
  if (form.dataset.kind === "choice") {
    const picked = [...form.querySelectorAll("input[name=answer]:checked")].map((i) => i.value);
    if (!picked.length) {
      feedback.className = "feedback wrong";
      feedback.textContent = "Choose an option first.";
      return;
    }
    answer = picked.length === 1 && form.querySelector("input[type=radio]") ? picked[0] : picked;
  } else {
    answer = form.querySelector("input[name=answer]").value.trim();
    if (!answer) {
      feedback.className = "feedback wrong";
      feedback.textContent = "Write an answer first.";
      form.querySelector("input[name=answer]").focus();
      return;
    }
  }
  button.disabled = true;
  let res;
  try {
    res = await api(`/exercises/${encodeURIComponent(form.dataset.exercise)}/attempts`, { method: "POST", body: JSON.stringify({ answer }) });
  } catch {
    button.disabled = false;
    feedback.className = "feedback wrong";
    feedback.textContent = "Your answer could not be sent. Check your connection and try again.";
    return;
  }
  button.disabled = false;
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    feedback.className = "feedback wrong";
    feedback.textContent = (body.error && body.error.message) || `Your answer could not be checked (${res.status}).`;
    return;
  }
  if (body.correct) {
    form.classList.add("solved");
    feedback.className = "feedback right";
    feedback.textContent = "✓ Right.";
    const x = form.querySelector(".explanation");
    if (body.explanation) { x.textContent = body.explanation; x.hidden = false; }
  } else {
    feedback.className = "feedback wrong";
    feedback.textContent = `Not yet.${body.note ? " " + body.note : ""}${body.hint ? " Here is a hint." : ""}`;
    const hints = form.querySelector(".hints");
    if (body.hint && ![...hints.children].some((li) => li.textContent === body.hint)) {
      const li = document.createElement("li");
      li.textContent = body.hint;
      hints.append(li);
      hints.hidden = false;
    }
  }
  if (body.lessonCompleted) {
    const status = document.getElementById("lesson-status");
    if (status) completed(status, body, document.getElementById("lesson").dataset.course);
  }
});

// --- account ---------------------------------------------------------------
on("[data-revoke-session]", "click", async (btn) => {
  const r = await authPost("/revoke-session", { token: btn.dataset.revokeSession });
  if (r.ok) btn.closest("tr").remove();
});
on("[data-unlink]", "click", async (btn) => {
  if (!confirm("Remove this way to sign in?")) return;
  const r = await authPost("/unlink-account", { providerId: btn.dataset.unlink });
  if (r.ok) location.reload();
  else show(document.getElementById("link-error"), r.body.message || "Could not unlink.");
});
on("[data-revoke-consent]", "click", async (btn) => {
  if (!confirm(`Disconnect ${btn.dataset.app}? It loses access to your account now.`)) return;
  const r = await authPost("/oauth2/delete-consent", { id: btn.dataset.revokeConsent });
  if (r.ok) btn.closest("li").remove();
  else show(document.getElementById("apps-error"), r.unavailable ? UNAVAILABLE : r.body.message || "Could not disconnect.");
});
on("[data-link]", "click", async (btn) => {
  const r = await authPost("/link-social", { provider: btn.dataset.link, callbackURL: "/account", errorCallbackURL: "/account" });
  if (r.ok && r.body.url) location.href = r.body.url;
  else show(document.getElementById("link-error"), r.unavailable ? UNAVAILABLE : r.body.message || "Could not start linking.");
});

// --- admin -----------------------------------------------------------------
async function adminAction(path, body) {
  const r = await authPost(path, body);
  if (r.ok) location.reload();
  else show(document.getElementById("admin-error"), r.unavailable ? UNAVAILABLE : r.body.message || "The change was refused.");
}
document.addEventListener("change", (e) => {
  const sel = e.target.closest("[data-set-role]");
  if (sel) adminAction("/admin/set-role", { userId: sel.dataset.setRole, role: sel.value });
});
on("[data-ban]", "click", (btn) => {
  if (confirm("Ban this user? Their sessions end now.")) adminAction("/admin/ban-user", { userId: btn.dataset.ban, banReason: "Banned by an administrator" });
});
on("[data-unban]", "click", (btn) => adminAction("/admin/unban-user", { userId: btn.dataset.unban }));
