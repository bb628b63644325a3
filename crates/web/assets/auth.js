// The sign-up, sign-in, verification, reset, consent and password forms.
// They speak Better-Auth's API under /api/auth, as its own client would.
import { authPost, show, UNAVAILABLE } from "/assets/pages.js";

const RULES = {
  length: (p) => p.length >= 12 && p.length <= 128,
  upper: (p) => /\p{Lu}/u.test(p),
  lower: (p) => /\p{Ll}/u.test(p),
  digit: (p) => /\p{Nd}/u.test(p),
  special: (p) => /[^\p{L}\p{Nd}\s]/u.test(p),
};

/** The live strength meter: each rule is ticked as it is met. */
function meter(form) {
  const input = form.querySelector("#password");
  const fill = form.querySelector("#meter-fill");
  const items = form.querySelectorAll("[data-rule]");
  if (!input || !items.length) return;
  input.addEventListener("input", () => {
    let met = 0;
    for (const li of items) {
      const ok = RULES[li.dataset.rule](input.value);
      li.classList.toggle("met", ok);
      li.setAttribute("aria-label", `${li.textContent}: ${ok ? "met" : "not met"}`);
      if (ok) met += 1;
    }
    fill.style.width = `${(met / items.length) * 100}%`;
    fill.style.background = met === items.length ? "var(--ok)" : met >= 3 ? "#d08b00" : "var(--bad)";
  });
}

function busy(form, on) {
  for (const b of form.querySelectorAll("button")) b.disabled = on;
}

function errorText(r, fallback) {
  if (r.unavailable) return UNAVAILABLE;
  return r.body.message || fallback;
}

// --- sign in ------------------------------------------------------------------
const login = document.getElementById("login-form");
if (login) {
  const err = login.querySelector("#form-error");
  const resendBox = login.querySelector("#resend-box");
  login.addEventListener("submit", async (e) => {
    e.preventDefault();
    show(err, "");
    resendBox.hidden = true;
    busy(login, true);
    const body = {
      email: login.email.value.trim(),
      password: login.password.value,
      rememberMe: login.remember.checked,
      // If the address is not verified yet, the mail sent now lands on the
      // page that says it is verified.
      callbackURL: "/verify-email?verified=1",
    };
    if (login.dataset.oauthQuery) body.oauth_query = login.dataset.oauthQuery;
    const r = await authPost("/sign-in/email", body);
    busy(login, false);
    if (r.ok && r.body.twoFactorRedirect) {
      // The password was right; the second step has its own page.
      location.href = `/two-factor?next=${encodeURIComponent(login.dataset.next || "/dashboard")}`;
      return;
    }
    if (r.ok) {
      // Only another application's sign-in redirects elsewhere; the callback
      // above is for the verification mail.
      location.href = login.dataset.oauthQuery && r.body.url && r.body.redirect ? r.body.url : login.dataset.next || "/dashboard";
      return;
    }
    if (r.status === 423 || r.body.code === "ACCOUNT_LOCKED") {
      const mins = Math.max(1, Math.ceil((r.body.retryAfter || 1800) / 60));
      show(err, `Too many failed attempts. Your account is locked for ${mins} more minute${mins === 1 ? "" : "s"}.`);
    } else if (r.body.code === "EMAIL_NOT_VERIFIED") {
      show(err, "Your email is not verified yet. Open the link we sent you, or send it again.");
      resendBox.hidden = false;
    } else if (r.status === 429) {
      show(err, "Too many attempts from this network. Wait a moment and try again.");
    } else {
      show(err, errorText(r, "Invalid email or password."));
    }
  });
  login.querySelector("#resend").addEventListener("click", async () => {
    const r = await authPost("/send-verification-email", { email: login.email.value.trim(), callbackURL: "/verify-email?verified=1" });
    show(err, r.ok ? "" : errorText(r, "Could not send the email."));
    if (r.ok) location.href = `/verify-email?email=${encodeURIComponent(login.email.value.trim())}`;
  });
}

document.addEventListener("click", async (e) => {
  const btn = e.target.closest("[data-social]");
  if (!btn) return;
  btn.disabled = true;
  const r = await authPost("/sign-in/social", {
    provider: btn.dataset.social,
    callbackURL: btn.dataset.next || "/dashboard",
    errorCallbackURL: "/login",
  });
  if (r.ok && r.body.url) location.href = r.body.url;
  else {
    btn.disabled = false;
    show(document.getElementById("form-error"), errorText(r, "That provider is not available right now."));
  }
});

// --- register -------------------------------------------------------------------
const register = document.getElementById("register-form");
if (register) {
  meter(register);
  const err = register.querySelector("#form-error");
  register.addEventListener("submit", async (e) => {
    e.preventDefault();
    show(err, "");
    busy(register, true);
    const email = register.email.value.trim();
    const r = await authPost("/sign-up/email", {
      name: register.elements.name.value.trim(),
      email,
      password: register.password.value,
      callbackURL: "/verify-email?verified=1",
    });
    busy(register, false);
    if (r.ok) {
      location.href = r.body.token ? "/dashboard" : `/verify-email?email=${encodeURIComponent(email)}`;
    } else if (r.body.failedRules) {
      show(err, r.body.message);
    } else {
      show(err, errorText(r, "Could not create the account."));
    }
  });
}

// --- verification ---------------------------------------------------------------
const resend = document.getElementById("resend-form");
if (resend) {
  resend.addEventListener("submit", async (e) => {
    e.preventDefault();
    busy(resend, true);
    const r = await authPost("/send-verification-email", { email: resend.email.value.trim(), callbackURL: "/verify-email?verified=1" });
    busy(resend, false);
    show(resend.querySelector("#form-status"), r.ok ? "If that address has an account waiting, a new link is on its way." : errorText(r, "Could not send the email."));
  });
}

// --- password reset -------------------------------------------------------------
const forgot = document.getElementById("forgot-form");
if (forgot) {
  forgot.addEventListener("submit", async (e) => {
    e.preventDefault();
    busy(forgot, true);
    const r = await authPost("/request-password-reset", { email: forgot.email.value.trim(), redirectTo: "/reset-password" });
    busy(forgot, false);
    if (r.ok) show(forgot.querySelector("#form-status"), "If an account uses that address, a reset link is on its way. It works for one hour.");
    else show(forgot.querySelector("#form-error"), errorText(r, "Could not send the link."));
  });
}

const reset = document.getElementById("reset-form");
if (reset) {
  meter(reset);
  reset.addEventListener("submit", async (e) => {
    e.preventDefault();
    busy(reset, true);
    const r = await authPost("/reset-password", { token: reset.dataset.token, newPassword: reset.password.value });
    busy(reset, false);
    if (r.ok) location.href = "/login?notice=password-reset";
    else if (r.body.code === "INVALID_TOKEN") location.href = "/reset-password?error=INVALID_TOKEN";
    else show(reset.querySelector("#form-error"), errorText(r, "Could not save the password."));
  });
}

// --- change password -------------------------------------------------------------
const change = document.getElementById("password-form");
if (change) {
  change.addEventListener("submit", async (e) => {
    e.preventDefault();
    show(change.querySelector("#form-status"), "");
    show(change.querySelector("#form-error"), "");
    busy(change, true);
    const r = await authPost("/change-password", {
      currentPassword: change.current.value,
      newPassword: change.password.value,
      revokeOtherSessions: change.revoke.checked,
    });
    busy(change, false);
    if (r.ok) { change.reset(); show(change.querySelector("#form-status"), "Your password is changed."); }
    else show(change.querySelector("#form-error"), errorText(r, "Could not change the password."));
  });
}

// --- OIDC consent -----------------------------------------------------------------
const consent = document.getElementById("consent-form");
if (consent) {
  const answer = async (accept) => {
    busy(consent, true);
    const r = await authPost("/oauth2/consent", { accept, oauth_query: consent.dataset.oauthQuery });
    if (r.ok && r.body.url) location.href = r.body.url;
    else { busy(consent, false); show(consent.querySelector("#form-error"), errorText(r, "The request could not be completed.")); }
  };
  consent.addEventListener("submit", (e) => { e.preventDefault(); answer(true); });
  consent.querySelector("#deny").addEventListener("click", () => answer(false));
}
