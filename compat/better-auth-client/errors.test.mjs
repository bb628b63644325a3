// Error statuses and codes as the official client surfaces them (error.status, error.code).

import { test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, TIMEOUT, createVerifiedUser, newBrowser, uniqueEmail } from "./lib/harness.mjs";

const WRONG = "Wrong-Horse-99?";

test("wrong password → 401 INVALID_EMAIL_OR_PASSWORD", { timeout: TIMEOUT }, async () => {
  const { client } = newBrowser();
  const { email } = await createVerifiedUser(client);

  const res = await client.signIn.email({ email, password: WRONG });
  assert.equal(res.data, null);
  assert.equal(res.error.status, 401);
  assert.equal(res.error.code, "INVALID_EMAIL_OR_PASSWORD");
  assert.equal(typeof res.error.message, "string");

  const unknown = await client.signIn.email({ email: uniqueEmail("nobody"), password: WRONG });
  assert.equal(unknown.error.status, 401, "an unknown address answers like a wrong password");
  assert.equal(unknown.error.code, "INVALID_EMAIL_OR_PASSWORD");
});

test("weak passwords are refused at sign-up with the failed rules named", { timeout: TIMEOUT }, async () => {
  const { client } = newBrowser();

  const short = await client.signUp.email({ email: uniqueEmail("short"), password: "Ab1!short", name: "Short" });
  assert.equal(short.data, null);
  assert.equal(short.error.status, 400);
  assert.equal(short.error.code, "PASSWORD_TOO_SHORT");
  assert.match(short.error.message, /12/, "the message names the minimum length");

  const long = await client.signUp.email({ email: uniqueEmail("long"), password: `Aa1!${"x".repeat(125)}`, name: "Long" });
  assert.equal(long.error?.status, 400, "129 characters is over the limit");
  assert.equal(long.error.code, "PASSWORD_TOO_LONG");

  const lowerOnly = await client.signUp.email({
    email: uniqueEmail("weak"),
    password: "onlylowercaseletters",
    name: "Weak",
  });
  assert.equal(lowerOnly.data, null);
  assert.equal(lowerOnly.error.status, 400);
  assert.equal(lowerOnly.error.code, "PASSWORD_TOO_WEAK");
  assert.match(lowerOnly.error.message, /upper/i, "names the missing uppercase letter");
  assert.match(lowerOnly.error.message, /digit|number/i, "names the missing digit");
  assert.match(lowerOnly.error.message, /special|symbol/i, "names the missing special character");

  const noLower = await client.signUp.email({
    email: uniqueEmail("weak"),
    password: "NO-LOWERCASE-42",
    name: "Weak",
  });
  assert.equal(noLower.error?.status, 400);
  assert.equal(noLower.error.code, "PASSWORD_TOO_WEAK");
  assert.match(noLower.error.message, /lower/i, "names the missing lowercase letter");

  // Exactly 12 characters with all four classes is enough.
  const ok = await client.signUp.email({ email: uniqueEmail("ok"), password: "Abcdefgh12-!", name: "Ok" });
  assert.equal(ok.error, null, `a 12-character strong password was refused: ${JSON.stringify(ok.error)}`);
});

/** Sign-in attempts in a row: [status, code] per answer, and the error bodies. */
async function attempts(client, email, passwords) {
  const seen = [];
  const errors = [];
  for (const password of passwords) {
    const res = await client.signIn.email({ email, password });
    seen.push(res.error ? [res.error.status, res.error.code] : [200, "SIGNED_IN"]);
    errors.push(res.error);
  }
  return { seen, errors };
}

function assertLockedUntil(error) {
  // The client revives ISO-8601 strings into Dates; accept either form.
  const value = error.lockedUntil;
  assert.ok(value !== undefined && value !== null, `no lockedUntil in ${JSON.stringify(error)}`);
  if (typeof value === "string") {
    assert.match(value, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/, "lockedUntil is ISO-8601");
  } else {
    assert.ok(value instanceof Date, `lockedUntil is neither a date string nor a Date: ${value}`);
  }
  assert.ok(new Date(value).getTime() > Date.now(), "lockedUntil lies in the future");
}

function assertLockedAnswers({ seen, errors }) {
  errors.forEach((error, i) => {
    if (seen[i][0] === 423) assertLockedUntil(error);
  });
}

const LOCKOUT = [
  [401, "INVALID_EMAIL_OR_PASSWORD"],
  [401, "INVALID_EMAIL_OR_PASSWORD"],
  [401, "INVALID_EMAIL_OR_PASSWORD"],
  [401, "INVALID_EMAIL_OR_PASSWORD"],
  [423, "ACCOUNT_LOCKED"],
  [423, "ACCOUNT_LOCKED"],
  [423, "ACCOUNT_LOCKED"],
];

test("5 wrong passwords lock the account, the right one included", { timeout: TIMEOUT }, async () => {
  const { client } = newBrowser();
  const { email } = await createVerifiedUser(client);

  const result = await attempts(client, email, [WRONG, WRONG, WRONG, WRONG, WRONG, WRONG, PASSWORD]);
  assert.deepEqual(result.seen, LOCKOUT, "4 × 401, then 423 for wrong and right passwords alike");
  assertLockedAnswers(result);
});

test("an address without an account locks the same way (no enumeration)", { timeout: TIMEOUT }, async () => {
  const { client } = newBrowser();
  const real = await createVerifiedUser(client);
  const ghost = uniqueEmail("ghost");

  const known = await attempts(client, real.email, [WRONG, WRONG, WRONG, WRONG, WRONG, WRONG, PASSWORD]);
  const unknown = await attempts(client, ghost, [WRONG, WRONG, WRONG, WRONG, WRONG, WRONG, PASSWORD]);
  assert.deepEqual(unknown.seen, known.seen, "known and unknown addresses answer alike");
  assert.deepEqual(unknown.seen, LOCKOUT);
  assertLockedAnswers(unknown);
});
