// Sign-up → mailed verification link → verify → sign-in, through the official client.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BASE_URL,
  PASSWORD,
  TIMEOUT,
  newBrowser,
  signedIn,
  uniqueEmail,
  verificationLink,
} from "./lib/harness.mjs";

test("sign-up requires email verification before sign-in", { timeout: TIMEOUT }, async () => {
  const { client, jar } = newBrowser();
  const email = uniqueEmail("signup");

  const signUp = await client.signUp.email({ email, password: PASSWORD, name: "Ada Signup" });
  assert.equal(signUp.error, null, `sign-up failed: ${JSON.stringify(signUp.error)}`);
  assert.equal(signUp.data.token, null, "sign-up must not sign in while verification is required");
  assert.equal(signUp.data.user.email, email);
  assert.equal(signUp.data.user.name, "Ada Signup");
  assert.equal(signUp.data.user.emailVerified, false);
  assert.ok(signUp.data.user.createdAt instanceof Date, "user.createdAt is revived into a Date");
  assert.equal(jar.get("better-auth.session_token"), undefined, "no session cookie before verification");

  const early = await client.signIn.email({ email, password: PASSWORD });
  assert.equal(early.data, null);
  assert.equal(early.error.status, 403);
  assert.equal(early.error.code, "EMAIL_NOT_VERIFIED");

  const link = await verificationLink(email);
  assert.equal(link.origin, BASE_URL, "the link points at BETTER_AUTH_URL");
  assert.equal(link.pathname, "/api/auth/verify-email");
  const token = link.searchParams.get("token");
  assert.ok(token, "the link carries a token");

  const verified = await client.verifyEmail({ query: { token } });
  assert.equal(verified.error, null, `verify-email failed: ${JSON.stringify(verified.error)}`);
  assert.equal(verified.data.status, true);

  const signIn = await client.signIn.email({ email, password: PASSWORD });
  assert.equal(signIn.error, null, `sign-in failed: ${JSON.stringify(signIn.error)}`);
  assert.equal(signIn.data.redirect, false);
  assert.equal(typeof signIn.data.token, "string");
  assert.equal(signIn.data.user.email, email);
  assert.equal(signIn.data.user.emailVerified, true);
  assert.equal(signIn.data.user.role, "student", "new users get the default role");
  assert.ok(jar.get("better-auth.session_token"), "sign-in sets the session cookie");

  const session = await client.getSession();
  assert.equal(session.error, null);
  assert.equal(session.data.user.email, email);
});

test("the mailed link itself verifies the address", { timeout: TIMEOUT }, async () => {
  const { client } = newBrowser();
  const email = uniqueEmail("link");
  const signUp = await client.signUp.email({ email, password: PASSWORD, name: "Link User" });
  assert.equal(signUp.error, null, `sign-up failed: ${JSON.stringify(signUp.error)}`);

  // Following the link as a browser would: GET it and land on callbackURL ("/").
  const link = await verificationLink(email);
  assert.equal(link.searchParams.get("callbackURL"), "/");
  const res = await fetch(link, { redirect: "manual" });
  assert.equal(res.status, 302, `GET ${link} answered ${res.status}`);
  assert.equal(new URL(res.headers.get("location"), BASE_URL).pathname, "/");

  const { signIn } = await signedIn(email);
  assert.equal(signIn.user.emailVerified, true);
});

test("sign-up with an address already in use does not reveal it", { timeout: TIMEOUT }, async () => {
  const { client } = newBrowser();
  const email = uniqueEmail("dup");
  const first = await client.signUp.email({ email, password: PASSWORD, name: "First" });
  assert.equal(first.error, null, `sign-up failed: ${JSON.stringify(first.error)}`);
  const second = await client.signUp.email({ email, password: PASSWORD, name: "Second" });
  assert.equal(second.error, null, "a repeated sign-up answers like a new one (no enumeration)");
  assert.equal(second.data.token, null);
  assert.notEqual(second.data.user.id, first.data.user.id, "the answer carries no real user id");
});
