// Shared set-up for the suites: where the server is, one official client per
// "browser", unique addresses, and the development mail outbox.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { createAuthClient } from "better-auth/client";
import { adminClient, jwtClient, twoFactorClient } from "better-auth/client/plugins";
import { passkeyClient } from "@better-auth/passkey/client";
import { CookieJar } from "./cookie-jar.mjs";

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run these tests through compat/run <path-to-intellistack-binary>, ` +
        `or export ${name} for a running server yourself`,
    );
  }
  return value;
}

/** Origin of the server under test, e.g. http://127.0.0.1:4321 */
export const BASE_URL = new URL(required("BETTER_AUTH_URL")).origin;
/** The server's DATA_DIR; its outbox/ holds the mails it "sent". */
export const DATA_DIR = required("DATA_DIR");
export const ADMIN_EMAIL = process.env.COMPAT_ADMIN_EMAIL ?? "admin@example.com";
export const ADMIN_PASSWORD = process.env.COMPAT_ADMIN_PASSWORD ?? "Admin-Passw0rd!x";

/** A password that satisfies the policy (12+ chars, upper, lower, digit, special). */
export const PASSWORD = "Correct-Horse-42!";

/** Per-test budget; a hung server fails the test instead of the whole run. */
export const TIMEOUT = 60_000;

/** A fresh official client with its own cookie jar (one "browser"), with the
 *  admin, JWT, two-factor and passkey client plugins. `twoFactorRedirects`
 *  collects what the two-factor plugin's onTwoFactorRedirect was called with. */
export function newBrowser() {
  const jar = new CookieJar(BASE_URL);
  const twoFactorRedirects = [];
  const client = createAuthClient({
    baseURL: BASE_URL,
    plugins: [
      adminClient(),
      jwtClient(),
      twoFactorClient({ onTwoFactorRedirect: (ctx) => twoFactorRedirects.push(ctx) }),
      passkeyClient(),
    ],
    fetchOptions: { customFetchImpl: jar.fetch },
  });
  return { client, jar, twoFactorRedirects };
}

/** A lower-case address no other test uses. */
export function uniqueEmail(tag) {
  return `${tag}-${Date.now()}-${randomBytes(4).toString("hex")}@example.com`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Newest outbox mail whose `to` is `email` (and that `where` accepts: mail is
 *  written after the response, so an older mail may still be the newest one),
 *  waiting up to `timeoutMs` for one. */
export async function latestMail(email, { timeoutMs = 5_000, where = () => true } = {}) {
  const outbox = join(DATA_DIR, "outbox");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let names = [];
    try {
      names = (await readdir(outbox)).filter((n) => n.endsWith(".json"));
    } catch (e) {
      if (e.code !== "ENOENT") throw e;
    }
    // `<unix-millis>-<id>.json`: newest first by the millisecond prefix.
    names.sort((a, b) => parseInt(b, 10) - parseInt(a, 10) || b.localeCompare(a));
    for (const name of names) {
      const mail = JSON.parse(await readFile(join(outbox, name), "utf8"));
      if (mail.to === email && where(mail)) return mail;
    }
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${email} in ${outbox} after ${timeoutMs} ms (${names.length} mails there)`);
    }
    await sleep(100);
  }
}

/** The verification link (a URL) from the newest mail to `email`. */
export async function verificationLink(email) {
  const mail = await latestMail(email);
  const match = /https?:\/\/\S*\/api\/auth\/verify-email\?\S+/.exec(mail.text);
  if (!match) throw new Error(`no verify-email link in the mail to ${email}: ${JSON.stringify(mail.text)}`);
  return new URL(match[0]);
}

/** Signs up `email` and verifies it through the mailed link; returns the user. */
export async function createVerifiedUser(client, { email = uniqueEmail("user"), name = "Test User", password = PASSWORD } = {}) {
  const signUp = await client.signUp.email({ email, password, name });
  if (signUp.error) throw new Error(`sign-up of ${email} failed: ${JSON.stringify(signUp.error)}`);
  const link = await verificationLink(email);
  const verified = await client.verifyEmail({ query: { token: link.searchParams.get("token") } });
  if (verified.error) throw new Error(`verify-email for ${email} failed: ${JSON.stringify(verified.error)}`);
  return { email, name, password, user: signUp.data.user };
}

/** A new browser signed in as `email`; throws if the sign-in fails. */
export async function signedIn(email, password = PASSWORD) {
  const browser = newBrowser();
  const res = await browser.client.signIn.email({ email, password });
  if (res.error) throw new Error(`sign-in of ${email} failed: ${JSON.stringify(res.error)}`);
  return { ...browser, signIn: res.data };
}

/** Decodes the parts of a compact JWT without verifying it. */
export function decodeJwt(token) {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error(`not a compact JWT: ${token}`);
  const json = (part) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  return { header: json(parts[0]), payload: json(parts[1]) };
}
