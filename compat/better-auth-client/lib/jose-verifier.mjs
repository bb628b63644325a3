// A resource server verifying the IntelliStack's JWTs with jose's default
// remote key set (createRemoteJWKSet: keys cached, unknown kids refetched at
// most every 30 s). Every second it fetches the current token for a session
// and verifies every token it has seen so far, printing one JSON line per
// verification. Used by compat/python/test_jwt.py during a key rotation.
//
// Usage: node jose-verifier.mjs <origin> <session bearer token> <seconds>

import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";

const [origin, bearer, seconds] = process.argv.slice(2);
if (!origin || !bearer || !seconds) {
  console.error("usage: node jose-verifier.mjs <origin> <session bearer token> <seconds>");
  process.exit(2);
}

const keys = createRemoteJWKSet(new URL(`${origin}/api/auth/jwks`));
const seen = [];
const deadline = Date.now() + Number(seconds) * 1000;

async function currentToken() {
  const res = await fetch(`${origin}/api/auth/token`, { headers: { authorization: `Bearer ${bearer}` } });
  if (!res.ok) throw new Error(`GET /api/auth/token answered ${res.status}`);
  return (await res.json()).token;
}

while (Date.now() < deadline) {
  const started = Date.now();
  try {
    const token = await currentToken();
    if (!seen.includes(token)) seen.push(token);
  } catch (e) {
    console.log(JSON.stringify({ at: Date.now() / 1000, fetchError: String(e) }));
  }
  for (const token of seen) {
    const { kid } = decodeProtectedHeader(token);
    const issuedAt = JSON.parse(Buffer.from(token.split(".")[1], "base64url")).iat;
    try {
      await jwtVerify(token, keys, { issuer: origin, audience: origin, algorithms: ["RS256"] });
      console.log(JSON.stringify({ at: Date.now() / 1000, kid, iat: issuedAt, ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ at: Date.now() / 1000, kid, iat: issuedAt, ok: false, error: `${e.code ?? ""} ${e.message}` }));
    }
  }
  await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
}
