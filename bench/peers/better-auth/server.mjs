// Better-Auth as its users run it: email and password, the JWT plugin (so
// get-session also signs a token, as IntelliStack's does), PostgreSQL.
import http from "node:http";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";
import { getMigrations } from "better-auth/db/migration";
import pg from "pg";

const port = Number(process.env.PORT);
const baseURL = `http://127.0.0.1:${port}`;
const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET,
  database: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 16 }),
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  plugins: [jwt()],
});
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();
http.createServer(toNodeHandler(auth)).listen(port, "127.0.0.1", () => console.log(`better-auth on ${baseURL}`));
