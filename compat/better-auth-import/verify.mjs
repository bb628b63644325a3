// After `intellistack import better-auth`: every Better-Auth user signs in to
// IntelliStack with their old password, keeps their id and role, and the
// JWTs Better-Auth issued before the import verify against IntelliStack's JWKS.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createLocalJWKSet, jwtVerify } from "jose";

const BASE = process.env.BETTER_AUTH_URL;
const made = JSON.parse(readFileSync(process.env.BA_MADE, "utf8"));

test("Better-Auth users sign in to IntelliStack with the same passwords", async () => {
  for (const u of made.users) {
    const res = await fetch(`${BASE}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: BASE },
      body: JSON.stringify({ email: u.email, password: u.password }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, `${u.email}: ${JSON.stringify(body)}`);
    assert.equal(body.user.id, u.id, "ids are preserved");
    assert.equal(body.user.role, u.role === "admin" ? "admin" : "student", "roles are preserved");
  }
  const wrong = await fetch(`${BASE}/api/auth/sign-in/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: BASE },
    body: JSON.stringify({ email: made.users[1].email, password: "not-the-password-1A!" }),
  });
  assert.equal(wrong.status, 401, "a wrong password is still wrong");
});

test("JWTs issued by Better-Auth before the import verify against IntelliStack's JWKS", async () => {
  const jwks = await (await fetch(`${BASE}/api/auth/jwks`)).json();
  const keys = createLocalJWKSet(jwks);
  assert.ok(made.jwts.length >= 4);
  for (const token of made.jwts) {
    const { payload, protectedHeader } = await jwtVerify(token, keys, { issuer: made.baseURL, audience: made.baseURL });
    assert.equal(protectedHeader.alg, "EdDSA");
    assert.ok(payload.sub);
  }
  const tampered = made.jwts[0].slice(0, -4) + (made.jwts[0].endsWith("AAAA") ? "BBBB" : "AAAA");
  await assert.rejects(jwtVerify(tampered, keys));
});
