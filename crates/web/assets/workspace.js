// The instructor's workspace: creating and importing courses, the outline
// (add, rename, reorder, delete stages and lessons), the course's staff, and
// the lesson editor with its exercises form and the server's preview.
import { api, show } from "/assets/pages.js";

/** "What Robots Sense" → "what-robots-sense". */
export function slugify(text) {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80).replace(/-+$/, "") || "untitled";
}

async function errorOf(res) {
  const body = await res.json().catch(() => ({}));
  return (body.error && body.error.message) || `The change was refused (${res.status}).`;
}

/** Runs `call`; on success reloads, keeping focus on `focusSelector` (reordering by keyboard
 *  keeps the place), else shows the error. */
async function change(call, focusSelector) {
  const error = document.getElementById("ws-error");
  show(error, "");
  let res;
  try { res = await call(); } catch { show(error, "The change could not be sent. Check your connection."); return null; }
  if (!res.ok) { show(error, await errorOf(res)); return null; }
  if (focusSelector) sessionStorage.setItem("ws-focus", focusSelector);
  location.reload();
  return res;
}

const focusAfterReload = sessionStorage.getItem("ws-focus");
if (focusAfterReload) {
  sessionStorage.removeItem("ws-focus");
  let el = document.querySelector(focusAfterReload);
  if (el && el.disabled) el = el.parentElement.querySelector("[data-move]:not([disabled])");
  if (el) el.focus();
}

// --- the list of courses ---------------------------------------------------------
const newCourse = document.getElementById("new-course-form");
if (newCourse) {
  const title = newCourse.querySelector("#course-title");
  const slug = newCourse.querySelector("#course-slug");
  let edited = false;
  slug.addEventListener("input", () => { edited = true; });
  title.addEventListener("input", () => { if (!edited) slug.value = slugify(title.value); });
  newCourse.addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = document.getElementById("new-course-error");
    show(err, "");
    if (!title.value.trim()) { show(err, "Give the course a title."); title.focus(); return; }
    const res = await api("/courses", { method: "POST", body: JSON.stringify({ title: title.value, slug: slug.value || slugify(title.value), summary: newCourse.querySelector("#course-summary").value }) });
    if (res.ok) location.href = `/teach/${(await res.json()).slug}`;
    else show(err, await errorOf(res));
  });
}

const importForm = document.getElementById("import-form");
if (importForm) {
  importForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = document.getElementById("import-error");
    show(err, "");
    const file = importForm.querySelector("#import-file").files[0];
    if (!file) { show(err, "Choose a .zip file first."); return; }
    const res = await api("/courses/import", { method: "POST", headers: { "content-type": "application/zip" }, body: file });
    if (res.ok) location.href = `/teach/${(await res.json()).slug}`;
    else show(err, await errorOf(res));
  });
}

// --- a course's workspace ----------------------------------------------------------
const ws = document.getElementById("workspace");
if (ws) {
  const course = encodeURIComponent(ws.dataset.course);

  document.getElementById("course-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const res = await api(`/courses/${course}`, { method: "PATCH", body: JSON.stringify({ title: f.title.value, summary: f.summary.value, published: f.published.checked }) });
    if (res.ok) {
      show(document.getElementById("ws-error"), "");
      show(document.getElementById("ws-status"), f.published.checked ? "Saved. The course is published: students see it." : "Saved. The course is a draft: only its staff see it.");
      document.getElementById("course-heading").textContent = f.title.value;
    } else show(document.getElementById("ws-error"), await errorOf(res));
  });

  document.getElementById("add-stage-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const title = e.target.title.value.trim();
    if (!title) { show(document.getElementById("ws-error"), "Give the stage a title."); return; }
    await change(() => api(`/courses/${course}/stages`, { method: "POST", body: JSON.stringify({ title, slug: slugify(title) }) }), "#new-stage-title");
  });

  ws.addEventListener("submit", async (e) => {
    const form = e.target;
    if (form.matches(".ws-rename")) {
      e.preventDefault();
      await change(() => api(`/stages/${form.dataset.id}`, { method: "PATCH", body: JSON.stringify({ title: form.title.value }) }), `#stage-title-${form.dataset.id}`);
    } else if (form.matches(".ws-add-lesson")) {
      e.preventDefault();
      const title = form.title.value.trim();
      if (!title) { show(document.getElementById("ws-error"), "Give the lesson a title."); return; }
      await change(() => api(`/stages/${form.dataset.stage}/lessons`, { method: "POST", body: JSON.stringify({ title, slug: slugify(title), body: `## ${title}\n\nWrite the lesson here.` }) }), `#new-lesson-${form.dataset.stage}`);
    } else if (form.matches("#add-staff-form")) {
      e.preventDefault();
      await change(() => api(`/courses/${course}/staff`, { method: "POST", body: JSON.stringify({ email: form.email.value }) }), "#staff-email");
    }
  });

  ws.addEventListener("click", async (e) => {
    const move = e.target.closest("[data-move]");
    if (move) {
      const kind = move.dataset.move;
      const list = kind === "stage" ? [...document.querySelectorAll(".ws-stage")].map((li) => li.dataset.stageId)
        : [...move.closest(".ws-lessons").children].map((li) => li.dataset.lessonId);
      const i = list.indexOf(move.dataset.id);
      const j = i + Number(move.dataset.dir);
      if (i < 0 || j < 0 || j >= list.length) return;
      [list[i], list[j]] = [list[j], list[i]];
      const path = kind === "stage" ? `/courses/${course}/stages/order` : `/stages/${move.dataset.stage}/lessons/order`;
      await change(() => api(path, { method: "POST", body: JSON.stringify({ ids: list }) }),
        `[data-move="${kind}"][data-id="${move.dataset.id}"][data-dir="${move.dataset.dir}"]`);
      return;
    }
    const del = e.target.closest("[data-delete]");
    if (del) {
      const kind = del.dataset.delete;
      const what = kind === "stage" ? `the stage “${del.dataset.title}” with all its lessons` : `the lesson “${del.dataset.title}”`;
      if (!confirm(`Delete ${what}? Students' progress and attempts on it are deleted too.`)) return;
      await change(() => api(`/${kind === "stage" ? "stages" : "lessons"}/${del.dataset.id}`, { method: "DELETE" }), "#new-stage-title");
      return;
    }
    const remove = e.target.closest("[data-remove-staff]");
    if (remove) await change(() => api(`/courses/${course}/staff/${encodeURIComponent(remove.dataset.removeStaff)}`, { method: "DELETE" }), "#staff-email");
  });
}

// --- the lesson editor -------------------------------------------------------------
const editor = document.getElementById("editor-form");
if (editor) {
  const body = editor.querySelector("#body");
  const preview = document.getElementById("preview");
  const list = document.getElementById("exercises");
  const template = document.getElementById("exercise-template");
  let serial = 0;

  // The preview is the server's rendering, the same as the published lesson's.
  let timer = null;
  let asked = 0;
  const refresh = async () => {
    const n = ++asked;
    preview.setAttribute("aria-busy", "true");
    try {
      const res = await api("/preview", { method: "POST", body: JSON.stringify({ body: body.value }) });
      if (res.ok && n === asked) preview.innerHTML = (await res.json()).html;
    } finally {
      if (n === asked) preview.setAttribute("aria-busy", "false");
    }
  };
  body.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 300); });

  const lines = (s) => s.split("\n").map((l) => l.trim()).filter(Boolean);
  const commas = (s) => s.split(",").map((l) => l.trim()).filter(Boolean);

  function renumber() {
    [...list.children].forEach((fs, i) => {
      fs.querySelector("legend .n").textContent = String(i + 1);
      // The visible words start each name, as speech input expects.
      for (const [what, words] of [["up", "Move up"], ["down", "Move down"], ["remove", "Remove"]])
        fs.querySelector(`[data-ex=${what}]`).setAttribute("aria-label", `${words}: exercise ${i + 1}`);
    });
  }

  function showKind(fs) {
    const kind = fs.querySelector("[data-field=kind]").value;
    for (const k of ["numeric", "choice", "text"]) fs.querySelector(`.kind-${k}`).hidden = k !== kind;
  }

  function addExercise(e = {}) {
    const fs = template.content.firstElementChild.cloneNode(true);
    const n = ++serial;
    // Every control gets an id and its label's `for`.
    for (const label of fs.querySelectorAll("label[data-for]")) {
      const field = label.dataset.for;
      const input = label.parentElement.querySelector(`[data-field=${field}]`) || fs.querySelector(`[data-field=${field}]`);
      input.id = `ex-${n}-${field}`;
      label.htmlFor = input.id;
    }
    const set = (f, v) => { fs.querySelector(`[data-field=${f}]`).value = v ?? ""; };
    set("id", e.id);
    set("kind", e.kind || "numeric");
    set("prompt", e.prompt);
    const a = e.answer;
    if (e.kind === "choice") {
      set("options", (e.options || []).map((o) => typeof o === "string" ? o : [o.id, o.text, ...(o.forms && o.forms.length ? [o.forms.join(", ")] : [])].join(" | ")).join("\n"));
      set("correct", Array.isArray(a) ? a.join(", ") : a);
    } else if (e.kind === "text") {
      set("accepted", (Array.isArray(a) ? a : a ? [a] : []).join("\n"));
    } else if (a !== undefined) {
      const obj = typeof a === "object" && a !== null ? a : { value: a };
      set("value", obj.value);
      set("unit", obj.unit);
      set("tolerance", obj.tolerance);
      set("units", (obj.units || []).join(", "));
    }
    set("names", (e.names || []).join(", "));
    set("hints", (e.hints || []).join("\n"));
    set("explanation", e.explanation);
    fs.querySelector("[data-field=kind]").addEventListener("change", () => showKind(fs));
    showKind(fs);
    list.append(fs);
    renumber();
    return fs;
  }

  /** The exercises as the front matter writes them (content/README.md). */
  function collect() {
    return [...list.children].map((fs) => {
      const get = (f) => fs.querySelector(`[data-field=${f}]`).value.trim();
      const out = { id: get("id"), kind: get("kind"), prompt: get("prompt") };
      if (out.kind === "numeric") {
        const value = Number(get("value").replace(",", "."));
        const answer = { value: get("value") === "" || Number.isNaN(value) ? get("value") : value };
        if (get("unit")) answer.unit = get("unit");
        const tol = get("tolerance");
        if (tol) answer.tolerance = /%$/.test(tol) || Number.isNaN(Number(tol)) ? tol : Number(tol);
        if (get("units")) answer.units = commas(get("units"));
        out.answer = answer;
      } else if (out.kind === "choice") {
        out.options = lines(get("options")).map((line) => {
          const [id, text, forms] = line.split("|").map((p) => p.trim());
          if (text === undefined) return id;
          const o = { id, text };
          if (forms) o.forms = commas(forms);
          return o;
        });
        const correct = commas(get("correct"));
        out.answer = correct.length === 1 ? correct[0] : correct;
      } else {
        out.answer = lines(get("accepted"));
      }
      const names = commas(get("names"));
      if (names.length) out.names = names;
      out.hints = lines(get("hints"));
      if (get("explanation")) out.explanation = get("explanation");
      return out;
    });
  }

  for (const e of JSON.parse(list.dataset.initial || "[]")) addExercise(e);
  document.getElementById("add-exercise").addEventListener("click", () => {
    const fs = addExercise({ kind: "numeric" });
    fs.querySelector("[data-field=id]").focus();
  });
  list.addEventListener("click", (e) => {
    const b = e.target.closest("[data-ex]");
    if (!b) return;
    const fs = b.closest("fieldset");
    if (b.dataset.ex === "remove") fs.remove();
    else if (b.dataset.ex === "up" && fs.previousElementSibling) fs.previousElementSibling.before(fs);
    else if (b.dataset.ex === "down" && fs.nextElementSibling) fs.nextElementSibling.after(fs);
    renumber();
    if (fs.isConnected) b.focus();
  });

  editor.addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = document.getElementById("form-status");
    const error = document.getElementById("form-error");
    show(status, "");
    show(error, "");
    const save = document.getElementById("save");
    save.disabled = true;
    let res;
    try {
      res = await api(`/lessons/${editor.dataset.lessonId}`, {
        method: "PATCH",
        body: JSON.stringify({ title: editor.querySelector("#title").value, slug: editor.querySelector("#slug").value.trim(), body: body.value, exercises: collect() }),
      });
    } catch {
      save.disabled = false;
      show(error, "The lesson could not be sent. Check your connection and save again.");
      return;
    }
    save.disabled = false;
    if (res.ok) {
      const saved = await res.json();
      document.getElementById("view-lesson").href = `/learn/${editor.dataset.course}/${editor.dataset.stage}/${saved.slug}`;
      show(status, "Saved. Students see the new version now.");
      refresh();
    } else {
      show(error, await errorOf(res));
    }
  });
}
