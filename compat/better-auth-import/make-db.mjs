// Makes a real Better-Auth database: runs the npm `better-auth` server on a
// PostgreSQL database (BA_DATABASE_URL), signs users up, signs one in through
// an OAuth provider (a local double of the provider's token endpoint), and
// has the JWT plugin issue tokens. Prints what the checks need as JSON.
import http from "node:http";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { admin, genericOAuth, jwt } from "better-auth/plugins";
import { getMigrations } from "better-auth/db/migration";
import pg from "pg";

const DATABASE_URL = process.env.BA_DATABASE_URL;
const SECRET = process.env.BA_SECRET;
if (!DATABASE_URL || !SECRET) throw new Error("set BA_DATABASE_URL and BA_SECRET");

function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
}

// The OAuth provider double: authorize redirects back with a code; the
// token endpoint trades it for an access token.
const provider = http.createServer((req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  if (url.pathname === "/authorize") {
    const back = new URL(url.searchParams.get("redirect_uri"));
    back.searchParams.set("code", "provider-code");
    back.searchParams.set("state", url.searchParams.get("state"));
    res.writeHead(302, { location: back.toString() }).end();
  } else if (url.pathname === "/token") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: "provider-access-token", token_type: "bearer", scope: "read:user user:email" }));
  } else {
    res.writeHead(404).end();
  }
});
const providerPort = await listen(provider);

const pool = new pg.Pool({ connectionString: DATABASE_URL });
const baServer = http.createServer();
const baPort = await listen(baServer);
const baseURL = `http://127.0.0.1:${baPort}`;
// Verification links Better-Auth mails, by address (the users verify, as real ones would).
const links = new Map();
const auth = betterAuth({
  baseURL,
  secret: SECRET,
  database: pool,
  emailAndPassword: { enabled: true },
  emailVerification: {
    sendOnSignUp: true,
    sendVerificationEmail: async ({ user, url }) => { links.set(user.email, url); },
  },
  plugins: [
    jwt(),
    admin(),
    genericOAuth({
      config: [{
        providerId: "github",
        clientId: "ba-client",
        clientSecret: "ba-client-secret",
        authorizationUrl: `http://127.0.0.1:${providerPort}/authorize`,
        tokenUrl: `http://127.0.0.1:${providerPort}/token`,
        getUserInfo: async () => ({ id: "4242", sub: "4242", email: "octo.social@example.com", emailVerified: true, name: "Octo Social" }),
      }],
    }),
  ],
});
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
baServer.on("request", toNodeHandler(auth));

/** fetch with a cookie jar, never following redirects. */
function client() {
  const jar = new Map();
  return async (path, init = {}) => {
    const headers = new Headers(init.headers || {});
    headers.set("origin", baseURL);
    if (jar.size) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    const url = path.startsWith("http") ? path : baseURL + path;
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return res;
  };
}

async function json(res) {
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const people = [
  { name: "Ada Lovelace", email: "ada.ba@example.com", password: "Analytical-Engine-1843!" },
  { name: "Alan Turing", email: "alan.ba@example.com", password: "Enigma-Bombe-1940!x" },
  { name: "Grace Hopper", email: "grace.ba@example.com", password: "Cobol-Compiler-59!" },
];
const out = { baseURL, users: [], jwts: [], social: null };
for (const p of people) {
  const c = client();
  const signUp = await json(await c("/api/auth/sign-up/email", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(p),
  }));
  const link = links.get(p.email);
  if (!link) throw new Error(`Better-Auth sent no verification link to ${p.email}`);
  const verified = await c(link);
  if (verified.status >= 400) throw new Error(`verification answered ${verified.status}`);
  const { token } = await json(await c("/api/auth/token"));
  out.users.push({ ...p, id: signUp.user.id });
  out.jwts.push(token);
}
// The first user becomes an admin, as the admin plugin stores it.
await pool.query(`UPDATE "user" SET role = 'admin' WHERE id = $1`, [out.users[0].id]);
out.users[0].role = "admin";

// Social sign-in through the provider double.
const s = client();
const start = await json(await s("/api/auth/sign-in/social", {
  method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ provider: "github", callbackURL: "/" }),
}));
const atProvider = await fetch(start.url, { redirect: "manual" });
const callback = atProvider.headers.get("location");
const done = await s(callback);
if (done.status !== 302) throw new Error(`social callback answered ${done.status}: ${await done.text()}`);
const session = await json(await s("/api/auth/get-session"));
if (!session?.user) throw new Error("the social sign-in made no session");
out.social = { id: session.user.id, email: session.user.email };
out.jwts.push((await json(await s("/api/auth/token"))).token);

console.log(JSON.stringify(out));
baServer.close();
provider.close();
await pool.end();
