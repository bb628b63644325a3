// Session reads, the JWT plugin's /token, session listing and revocation, sign-out.

import { test } from "node:test";
import assert from "node:assert/strict";
import { TIMEOUT, createVerifiedUser, decodeJwt, newBrowser, signedIn } from "./lib/harness.mjs";

test("getSession returns {session, user} with dates revived", { timeout: TIMEOUT }, async () => {
  const { email } = await createVerifiedUser(newBrowser().client, { name: "Grace Session" });
  const { client, signIn } = await signedIn(email);

  let jwtHeader = null;
  const res = await client.getSession({
    fetchOptions: { onResponse: ({ response }) => void (jwtHeader = response.headers.get("set-auth-jwt")) },
  });
  assert.equal(res.error, null, `get-session failed: ${JSON.stringify(res.error)}`);
  const { session, user } = res.data;
  assert.ok(session.expiresAt instanceof Date, "session.expiresAt is a Date");
  assert.ok(session.createdAt instanceof Date, "session.createdAt is a Date");
  assert.ok(user.createdAt instanceof Date, "user.createdAt is a Date");
  assert.ok(user.updatedAt instanceof Date, "user.updatedAt is a Date");
  assert.ok(session.expiresAt.getTime() > Date.now(), "the session expires in the future");
  assert.equal(session.userId, user.id);
  assert.equal(session.token, signIn.token);
  assert.equal(user.email, email);
  assert.equal(user.name, "Grace Session");
  assert.equal(user.emailVerified, true);

  assert.ok(jwtHeader, "get-session sets the set-auth-jwt header");
  assert.equal(decodeJwt(jwtHeader).payload.sub, user.id);
});

test("token, list, revoke another session, sign out", { timeout: TIMEOUT }, async () => {
  const { email } = await createVerifiedUser(newBrowser().client, { name: "Token User" });
  const first = await signedIn(email);

  const tokenRes = await first.client.token();
  assert.equal(tokenRes.error, null, `GET /token failed: ${JSON.stringify(tokenRes.error)}`);
  assert.equal(typeof tokenRes.data.token, "string");
  const jwt = decodeJwt(tokenRes.data.token);
  assert.ok(jwt.header.kid, "the JWT header names its key");
  assert.equal(jwt.payload.sub, first.signIn.user.id);
  assert.equal(jwt.payload.email, email);
  assert.ok(jwt.payload.exp > Math.floor(Date.now() / 1000), "the JWT is not expired");

  const jwks = await first.client.jwks();
  assert.equal(jwks.error, null, `GET /jwks failed: ${JSON.stringify(jwks.error)}`);
  assert.ok(
    jwks.data.keys.some((k) => k.kid === jwt.header.kid),
    "the JWKS publishes the key that signed the token",
  );

  const listed = await first.client.listSessions();
  assert.equal(listed.error, null, `list-sessions failed: ${JSON.stringify(listed.error)}`);
  assert.ok(Array.isArray(listed.data));
  assert.ok(listed.data.length >= 1);
  assert.ok(listed.data.some((s) => s.token === first.signIn.token), "the current session is listed");

  // A second "browser" signs in as the same user; the first one revokes it.
  const second = await signedIn(email);
  const both = await first.client.listSessions();
  assert.ok(both.data.length >= 2, `expected 2 sessions, got ${both.data.length}`);
  assert.ok(both.data.some((s) => s.token === second.signIn.token), "the second session is listed");

  const revoked = await first.client.revokeSession({ token: second.signIn.token });
  assert.equal(revoked.error, null, `revoke-session failed: ${JSON.stringify(revoked.error)}`);
  assert.equal(revoked.data.status, true);

  const secondSession = await second.client.getSession();
  assert.equal(secondSession.error, null);
  assert.equal(secondSession.data, null, "the revoked session no longer resolves");
  const after = await first.client.listSessions();
  assert.ok(!after.data.some((s) => s.token === second.signIn.token), "the revoked session is not listed");
  const firstSession = await first.client.getSession();
  assert.equal(firstSession.data?.session.token, first.signIn.token, "the revoking session stays");

  const cookie = first.jar.get("better-auth.session_token");
  const out = await first.client.signOut();
  assert.equal(out.error, null, `sign-out failed: ${JSON.stringify(out.error)}`);
  assert.equal(out.data.success, true);
  assert.equal(first.jar.get("better-auth.session_token"), undefined, "sign-out deletes the cookie");

  const gone = await first.client.getSession();
  assert.equal(gone.error, null);
  assert.equal(gone.data, null, "no session after sign-out");
  // The server forgot the session too: replaying the old cookie finds nothing.
  const replay = newBrowser();
  replay.jar.cookies.set("better-auth.session_token", cookie);
  const replayed = await replay.client.getSession();
  assert.equal(replayed.data, null, "the signed-out session is deleted on the server");
  const noToken = await first.client.token();
  assert.equal(noToken.error?.status, 401, "GET /token needs a session");
});
