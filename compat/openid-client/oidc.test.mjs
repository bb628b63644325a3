// The npm `openid-client` (v6) as a relying party of IntelliStack's OpenID
// Connect provider. The browser's part (sign-in and consent) is driven over
// HTTP with the session cookie; everything else is openid-client's own code:
// discovery, PKCE, the code exchange with ID-token validation, userinfo,
// refresh, introspection and revocation.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as client from "openid-client";

const BASE = process.env.BETTER_AUTH_URL;
const ADMIN_EMAIL = process.env.COMPAT_ADMIN_EMAIL;
const ADMIN_PASSWORD = process.env.COMPAT_ADMIN_PASSWORD;
const CODE_TTL_SECS = Number(process.env.OIDC_CODE_TTL_SECS || "600");
const REDIRECT = "https://rp.example.com/callback";

if (!BASE || !ADMIN_EMAIL || !ADMIN_PASSWORD) {
  throw new Error("run through compat/run: BETTER_AUTH_URL and the admin account are needed");
}

/** A minimal browser: keeps cookies, sends a same-origin Origin, never follows redirects. */
class Browser {
  cookies = new Map();
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers || {});
    headers.set("origin", BASE);
    if (this.cookies.size) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      if (value === "" || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
  async postJson(path, body) {
    const res = await this.fetch(BASE + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
}

async function signedInAdmin() {
  const b = new Browser();
  const r = await b.postJson("/api/auth/sign-in/email", { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return b;
}

let admin;
let confidential; // { id, secret }
let pub; // { id }

before(async () => {
  admin = await signedInAdmin();
  let r = await admin.postJson("/api/auth/oauth2/register", {
    client_name: "openid-client compat (confidential)",
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: "client_secret_basic",
    grant_types: ["authorization_code", "refresh_token"],
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  confidential = { id: r.body.client_id, secret: r.body.client_secret };
  r = await admin.postJson("/api/auth/oauth2/register", {
    client_name: "openid-client compat (public)",
    redirect_uris: [REDIRECT],
    token_endpoint_auth_method: "none",
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  pub = { id: r.body.client_id };
});

function discover(id, auth) {
  return client.discovery(new URL(`${BASE}/api/auth`), id, undefined, auth, {
    execute: [client.allowInsecureRequests],
  });
}

/**
 * Starts an authorization with openid-client, signs in on the login hop,
 * consents, and returns the callback URL the browser would land on.
 */
async function authorize(config, { verifier, state, nonce, consentAsked = true }) {
  const params = {
    redirect_uri: REDIRECT,
    scope: "openid profile email offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
  };
  if (nonce) params.nonce = nonce;
  const url = client.buildAuthorizationUrl(config, params);
  const b = new Browser();
  // fetch() declares Sec-Fetch-Mode: cors, so the provider answers with the
  // next URL as JSON, as it does for the Better-Auth client; a navigation gets a 302.
  const res = await b.fetch(url.href);
  assert.equal(res.status, 200);
  const login = new URL((await res.json()).url);
  assert.equal(login.pathname, "/login", "signed out: sent to the sign-in page");
  const signIn = await b.postJson("/api/auth/sign-in/email", {
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
    oauth_query: login.search.slice(1),
  });
  assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
  let next = new URL(signIn.body.url);
  if (next.pathname === "/consent") {
    const c = await b.postJson("/api/auth/oauth2/consent", { accept: true, oauth_query: next.search.slice(1) });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    next = new URL(c.body.url);
  } else {
    assert.ok(!consentAsked, `expected the consent page, got ${next}`);
  }
  assert.equal(`${next.origin}${next.pathname}`, REDIRECT);
  return next;
}

test("discovery, code flow with PKCE, ID token, userinfo, refresh rotation, introspection, revocation", async () => {
  const config = await discover(confidential.id, client.ClientSecretBasic(confidential.secret));
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, `${BASE}/api/auth`);
  assert.deepEqual(meta.code_challenge_methods_supported, ["S256"]);

  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const callback = await authorize(config, { verifier, state, nonce });

  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.iss, `${BASE}/api/auth`);
  assert.equal(claims.aud, confidential.id);
  assert.equal(claims.role, "admin");
  assert.equal(claims.email, ADMIN_EMAIL);
  assert.ok(tokens.refresh_token, "offline_access gives a refresh token");

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.email, ADMIN_EMAIL);
  assert.equal(info.email_verified, true);

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, "refresh tokens rotate");
  assert.equal(refreshed.claims().sub, claims.sub);

  let intro = await client.tokenIntrospection(config, refreshed.access_token);
  assert.equal(intro.active, true);
  assert.equal(intro.client_id, confidential.id);
  assert.equal(intro.sub, claims.sub);

  await client.tokenRevocation(config, refreshed.access_token);
  intro = await client.tokenIntrospection(config, refreshed.access_token);
  assert.equal(intro.active, false, "a revoked token is inactive");
  await assert.rejects(client.fetchUserInfo(config, refreshed.access_token, claims.sub));

  await client.tokenRevocation(config, refreshed.refresh_token, { token_type_hint: "refresh_token" });
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), (e) => e.error === "invalid_grant");
});

function isInvalidGrant(e) {
  assert.equal(e.error, "invalid_grant", `expected invalid_grant, got ${e.error ?? e}`);
  return true;
}

test("a public client with PKCE; a replayed code, a wrong verifier and a wrong redirect_uri fail", async () => {
  const config = await discover(pub.id, client.None());
  const run = async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const callback = await authorize(config, { verifier, state, consentAsked: false });
    return { verifier, state, callback };
  };

  // The public client was consented to before? Not yet: the first run asks.
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const first = await authorize(config, { verifier, state });
  const tokens = await client.authorizationCodeGrant(config, first, { pkceCodeVerifier: verifier, expectedState: state });
  assert.ok(tokens.access_token);

  await assert.rejects(
    client.authorizationCodeGrant(config, first, { pkceCodeVerifier: verifier, expectedState: state }),
    isInvalidGrant,
    "a code works once",
  );
  await assert.rejects(
    client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck),
    "the replay revoked the tokens the code bought",
  );

  const wrongVerifier = await run();
  await assert.rejects(
    client.authorizationCodeGrant(config, wrongVerifier.callback, {
      pkceCodeVerifier: client.randomPKCECodeVerifier(),
      expectedState: wrongVerifier.state,
    }),
    isInvalidGrant,
  );

  const wrongRedirect = await run();
  const elsewhere = new URL(wrongRedirect.callback);
  elsewhere.pathname = "/elsewhere";
  await assert.rejects(
    client.authorizationCodeGrant(config, elsewhere, {
      pkceCodeVerifier: wrongRedirect.verifier,
      expectedState: wrongRedirect.state,
    }),
    isInvalidGrant,
  );
});

test("an expired code and a reused refresh token fail", { timeout: 60_000 }, async () => {
  const config = await discover(confidential.id, client.ClientSecretBasic(confidential.secret));
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const callback = await authorize(config, { verifier, state, consentAsked: false });
  await new Promise((r) => setTimeout(r, (CODE_TTL_SECS + 1) * 1000));
  await assert.rejects(
    client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
    (e) => isInvalidGrant(e) && /expired/.test(e.error_description),
  );

  const v2 = client.randomPKCECodeVerifier();
  const s2 = client.randomState();
  const cb2 = await authorize(config, { verifier: v2, state: s2, consentAsked: false });
  const tokens = await client.authorizationCodeGrant(config, cb2, { pkceCodeVerifier: v2, expectedState: s2 });
  const rotated = await client.refreshTokenGrant(config, tokens.refresh_token);
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), isInvalidGrant, "reuse is refused");
  await assert.rejects(
    client.refreshTokenGrant(config, rotated.refresh_token),
    isInvalidGrant,
    "and the reuse revoked the whole family",
  );
});

test("RFC 8414 discovery (algorithm 'oauth2') finds the metadata at the inserted well-known path", async () => {
  // openid-client asks /.well-known/oauth-authorization-server/api/auth for issuer {BASE}/api/auth.
  const config = await client.discovery(
    new URL(`${BASE}/api/auth`),
    confidential.id,
    undefined,
    client.ClientSecretBasic(confidential.secret),
    { execute: [client.allowInsecureRequests], algorithm: "oauth2" },
  );
  const meta = config.serverMetadata();
  assert.equal(meta.issuer, `${BASE}/api/auth`);
  assert.equal(meta.token_endpoint, `${BASE}/api/auth/oauth2/token`);
  const raw = await fetch(`${BASE}/.well-known/oauth-authorization-server/api/auth`);
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get("cache-control"), /max-age=15/);
  // The configuration it built works for a whole code flow.
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const callback = await authorize(config, { verifier, state, consentAsked: false });
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  assert.ok(tokens.access_token);
});
