// Second factors and passkeys: the second step of a sign-in, "Sign in with a
// passkey" (with the browser's passkey autofill where it offers it), and the
// account page's two-factor and passkey settings. They speak Better-Auth's
// twoFactor and passkey routes under /api/auth, as its client plugins would.
import { authPost, show, UNAVAILABLE } from "/assets/pages.js";

const b64url = {
  decode(s) {
    const pad = "=".repeat((4 - (s.length % 4)) % 4);
    const bin = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buf) {
    let bin = "";
    for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

function errorText(r, fallback) {
  if (r.unavailable) return UNAVAILABLE;
  return r.body.message || fallback;
}

async function authGet(path) {
  try {
    const res = await fetch(`/api/auth${path}`, { credentials: "same-origin" });
    const text = await res.text();
    return { ok: res.ok, status: res.status, body: text ? JSON.parse(text) : {}, unavailable: [502, 503, 504].includes(res.status) };
  } catch {
    return { ok: false, status: 0, body: {}, unavailable: true };
  }
}

/**
 * The server's options as `navigator.credentials` takes them: the challenge,
 * the user id and the ids of the credentials in `list` as bytes, without the
 * fields browsers may refuse.
 */
function publicKeyOptions(options, list) {
  const publicKey = {
    ...options,
    challenge: b64url.decode(options.challenge),
    [list]: (options[list] || []).map((c) => ({ ...c, id: b64url.decode(c.id) })),
  };
  if (options.user) publicKey.user = { ...options.user, id: b64url.decode(options.user.id) };
  delete publicKey.hints;
  delete publicKey.attestationFormats;
  return publicKey;
}

/** A credential as the server reads it, with the ceremony's `response`. */
function credentialJSON(cred, response) {
  return {
    id: cred.id,
    rawId: b64url.encode(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    response,
  };
}

/** Asks the browser for a passkey. `conditional` uses the autofill list. */
async function getPasskey(options, conditional, signal) {
  const publicKey = publicKeyOptions(options, "allowCredentials");
  const cred = await navigator.credentials.get({ publicKey, mediation: conditional ? "conditional" : "optional", signal });
  const r = cred.response;
  return credentialJSON(cred, {
    clientDataJSON: b64url.encode(r.clientDataJSON),
    authenticatorData: b64url.encode(r.authenticatorData),
    signature: b64url.encode(r.signature),
    userHandle: r.userHandle ? b64url.encode(r.userHandle) : undefined,
  });
}

async function createPasskey(options) {
  const publicKey = publicKeyOptions(options, "excludeCredentials");
  const cred = await navigator.credentials.create({ publicKey });
  const r = cred.response;
  return credentialJSON(cred, {
    clientDataJSON: b64url.encode(r.clientDataJSON),
    attestationObject: b64url.encode(r.attestationObject),
    transports: r.getTransports ? r.getTransports() : [],
  });
}

/** Shows the account page again, fresh, at `hash` (a same-page link alone would not reload). */
function reloadAccount(hash) {
  if (location.pathname === "/account") {
    history.replaceState(null, "", `/account${hash}`);
    location.reload();
  } else {
    location.assign(`/account${hash}`);
  }
}

function supportsPasskeys() {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

// --- sign in with a passkey ------------------------------------------------------
const passkeyBox = document.getElementById("passkey-signin");
if (passkeyBox) {
  const btn = passkeyBox.querySelector("#passkey-button");
  const err = document.getElementById("form-error");
  const next = passkeyBox.dataset.next || "/dashboard";
  let pending = null; // the autofill request, cancelled when the button is used

  const finish = async (response) => {
    const r = await authPost("/passkey/verify-authentication", { response });
    if (r.ok) location.href = next;
    else show(err, errorText(r, "That passkey could not sign you in."));
    return r.ok;
  };

  const start = async (conditional) => {
    const options = await authGet("/passkey/generate-authenticate-options");
    if (!options.ok) {
      if (!conditional) show(err, errorText(options, "Passkeys are not available right now."));
      return;
    }
    const controller = new AbortController();
    if (conditional) pending = controller;
    try {
      await finish(await getPasskey(options.body, conditional, controller.signal));
    } catch (e) {
      if (!conditional && e.name !== "AbortError") show(err, "No passkey was used. Try again, or sign in with your password.");
    }
  };

  if (!supportsPasskeys()) {
    passkeyBox.hidden = true;
  } else {
    btn.addEventListener("click", async () => {
      show(err, "");
      if (pending) pending.abort();
      pending = null;
      btn.disabled = true;
      await start(false);
      btn.disabled = false;
    });
    // Conditional UI: the browser lists this site's passkeys in the email field's autofill.
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then((yes) => { if (yes) start(true); });
    }
  }
}

// --- the second step of a sign-in ---------------------------------------------------
const second = document.getElementById("second-step");
if (second) {
  const err = second.querySelector("#form-error");
  const status = second.querySelector("#form-status");
  const next = second.dataset.next || "/dashboard";
  const form = second.querySelector("#code-form");
  const method = () => form.querySelector("input[name=method]:checked")?.value || "totp";
  const label = form.querySelector("label[for=code]");
  const labels = { totp: "Code from your authenticator app", otp: "Code from the email", backup: "Backup code" };
  const sendBtn = second.querySelector("#send-otp");
  const sync = () => {
    label.textContent = labels[method()];
    form.code.setAttribute("inputmode", method() === "backup" ? "text" : "numeric");
    form.code.setAttribute("autocomplete", method() === "backup" ? "off" : "one-time-code");
    sendBtn.hidden = method() !== "otp";
  };
  for (const r of form.querySelectorAll("input[name=method]")) r.addEventListener("change", sync);
  sync();
  sendBtn.addEventListener("click", async () => {
    show(err, "");
    const r = await authPost("/two-factor/send-otp", {});
    if (r.ok) show(status, "We emailed you a code. It works for 3 minutes.");
    else show(err, errorText(r, "Could not send the code."));
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    show(err, "");
    const path = { totp: "/two-factor/verify-totp", otp: "/two-factor/verify-otp", backup: "/two-factor/verify-backup-code" }[method()];
    for (const b of form.querySelectorAll("button")) b.disabled = true;
    const r = await authPost(path, { code: form.code.value.trim(), trustDevice: form.trust.checked });
    for (const b of form.querySelectorAll("button")) b.disabled = false;
    if (r.ok) {
      location.href = r.body.url && r.body.redirect ? r.body.url : next;
    } else if (r.body.code === "INVALID_TWO_FACTOR_COOKIE" || r.body.code === "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE") {
      show(err, "This sign-in has ended. Sign in again with your password.");
    } else if (r.body.code === "ACCOUNT_TEMPORARILY_LOCKED" || r.status === 429) {
      show(err, r.body.code ? "Too many wrong codes. The second step is locked for 15 minutes." : "Too many attempts. Wait a few seconds and try again.");
    } else {
      show(err, errorText(r, "That code did not work."));
      form.code.select();
    }
  });
}

// --- account: two-factor ---------------------------------------------------------
const twoFactor = document.getElementById("two-factor");
if (twoFactor) {
  const err = twoFactor.querySelector("#tf-error");
  const on = (id, handler) => { const f = twoFactor.querySelector(id); if (f) f.addEventListener("submit", (e) => { e.preventDefault(); handler(f); }); };
  on("#tf-enable", async (f) => {
    show(err, "");
    const r = await authPost("/two-factor/enable", { password: f.password.value, method: f.method.value });
    if (!r.ok) return show(err, errorText(r, "Could not turn on two-factor authentication."));
    if (r.body.method === "otp") return reloadAccount("#two-factor");
    // Shown once, on the set-up page: kept only for this tab.
    sessionStorage.setItem("backupCodes", JSON.stringify(r.body.backupCodes));
    location.assign("/account/two-factor");
  });
  on("#tf-disable", async (f) => {
    show(err, "");
    const r = await authPost("/two-factor/disable", { password: f.password.value });
    if (r.ok) reloadAccount("#two-factor");
    else show(err, errorText(r, "Could not turn off two-factor authentication."));
  });
  on("#tf-codes", async (f) => {
    show(err, "");
    const r = await authPost("/two-factor/generate-backup-codes", { password: f.password.value });
    if (!r.ok) return show(err, errorText(r, "Could not make new backup codes."));
    f.reset();
    const list = twoFactor.querySelector("#tf-new-codes");
    list.replaceChildren(...r.body.backupCodes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
    list.closest("div").hidden = false;
  });
}

// --- the set-up page: scan, confirm with a code ------------------------------------
const setup = document.getElementById("totp-setup");
if (setup) {
  const codes = JSON.parse(sessionStorage.getItem("backupCodes") || "null");
  const box = setup.querySelector("#backup-codes");
  if (codes) {
    box.querySelector("ul").replaceChildren(...codes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
    box.hidden = false;
  }
  const form = setup.querySelector("#confirm-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    show(form.querySelector("#form-error"), "");
    const r = await authPost("/two-factor/verify-totp", { code: form.code.value.trim() });
    if (r.ok) {
      sessionStorage.removeItem("backupCodes");
      location.assign("/account?two-factor=on#two-factor");
    } else {
      show(form.querySelector("#form-error"), errorText(r, "That code did not work. Check the time on your phone and try the newest code."));
    }
  });
}

// --- account: passkeys -------------------------------------------------------------
const passkeys = document.getElementById("passkeys");
if (passkeys) {
  const err = passkeys.querySelector("#pk-error");
  const add = passkeys.querySelector("#pk-add");
  if (!supportsPasskeys()) {
    add.hidden = true;
    show(err, "This browser cannot create passkeys.");
  }
  add?.addEventListener("submit", async (e) => {
    e.preventDefault();
    show(err, "");
    const name = add.name.value.trim();
    const options = await authGet(`/passkey/generate-register-options${name ? `?name=${encodeURIComponent(name)}` : ""}`);
    if (!options.ok) return show(err, errorText(options, "Could not start adding a passkey."));
    let response;
    try {
      response = await createPasskey(options.body);
    } catch (e2) {
      return show(err, e2.name === "InvalidStateError" ? "This device already has a passkey for your account." : "No passkey was created.");
    }
    const r = await authPost("/passkey/verify-registration", { response, name: name || undefined });
    if (r.ok) reloadAccount("#passkeys");
    else show(err, errorText(r, "The passkey could not be added."));
  });
  passkeys.addEventListener("click", async (e) => {
    const rename = e.target.closest("[data-rename-passkey]");
    const remove = e.target.closest("[data-delete-passkey]");
    if (rename) {
      const name = prompt("A new name for this passkey", rename.dataset.name || "");
      if (!name || !name.trim()) return;
      const r = await authPost("/passkey/update-passkey", { id: rename.dataset.renamePasskey, name: name.trim() });
      if (r.ok) location.reload();
      else show(err, errorText(r, "Could not rename the passkey."));
    } else if (remove) {
      if (!confirm(`Remove the passkey "${remove.dataset.name}"? You can no longer sign in with it.`)) return;
      const r = await authPost("/passkey/delete-passkey", { id: remove.dataset.deletePasskey });
      if (r.ok) remove.closest("li").remove();
      else show(err, errorText(r, "Could not remove the passkey."));
    }
  });
}
