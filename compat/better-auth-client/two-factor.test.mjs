// The twoFactor client plugin, unchanged: TOTP computed here from the secret
// the server showed, codes by mail, backup codes, trusted devices.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { PASSWORD, createVerifiedUser, latestMail, newBrowser, signedIn } from "./lib/harness.mjs";

const STEP_MS = 30_000;

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) an authenticator app shows at `ms`. */
function totp(uri, ms = Date.now()) {
  const url = new URL(uri);
  assert.equal(url.protocol, "otpauth:");
  assert.equal(url.searchParams.get("digits"), "6");
  assert.equal(url.searchParams.get("period"), "30");
  const key = base32(url.searchParams.get("secret"));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / STEP_MS)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Waits for the next 30-second step, so its code has not been used yet. */
const nextStep = () => sleep(STEP_MS - (Date.now() % STEP_MS) + 200);

async function enableTotp(client) {
  const enabled = await client.twoFactor.enable({ password: PASSWORD });
  assert.equal(enabled.error, null, JSON.stringify(enabled.error));
  assert.match(enabled.data.totpURI, /^otpauth:\/\/totp\/IntelliStack:/);
  assert.equal(enabled.data.backupCodes.length, 10);
  const before = await client.getSession();
  assert.equal(before.data.user.twoFactorEnabled, false, "not on until a code is verified");
  const verified = await client.twoFactor.verifyTotp({ code: totp(enabled.data.totpURI) });
  assert.equal(verified.error, null, JSON.stringify(verified.error));
  const after = await client.getSession();
  assert.equal(after.data.user.twoFactorEnabled, true);
  return enabled.data;
}

test("TOTP: enrolment, the redirect at sign-in, wrong, reused and expired codes, trusted and untrusted devices", { timeout: 120_000 }, async () => {
  const user = await createVerifiedUser(newBrowser().client, { name: "Totp User" });
  const owner = await signedIn(user.email);
  const { totpURI } = await enableTotp(owner.client);

  const uri = await owner.client.twoFactor.getTotpUri({ password: PASSWORD });
  assert.equal(uri.error, null);
  assert.equal(uri.data.totpURI, totpURI);

  const b = newBrowser();
  const first = await b.client.signIn.email({ email: user.email, password: PASSWORD });
  assert.equal(first.error, null);
  assert.equal(first.data.twoFactorRedirect, true);
  assert.deepEqual(first.data.twoFactorMethods, ["totp", "otp"]);
  assert.deepEqual(b.twoFactorRedirects, [{ twoFactorMethods: ["totp", "otp"] }], "onTwoFactorRedirect was called");
  assert.equal((await b.client.getSession()).data, null, "no session before the second step");

  const wrong = await b.client.twoFactor.verifyTotp({ code: "000000" });
  assert.equal(wrong.error?.code, "INVALID_CODE");
  const reused = await b.client.twoFactor.verifyTotp({ code: totp(totpURI) });
  assert.equal(reused.error?.code, "INVALID_CODE", "the enrolment code of this step works once");
  const expired = await b.client.twoFactor.verifyTotp({ code: totp(totpURI, Date.now() - 3 * STEP_MS) });
  assert.equal(expired.error?.code, "INVALID_CODE", "a code from 90 s ago");

  await nextStep();
  const code = totp(totpURI);
  const done = await b.client.twoFactor.verifyTotp({ code, trustDevice: true });
  assert.equal(done.error, null, JSON.stringify(done.error));
  assert.equal(done.data.user.email, user.email);
  assert.equal(typeof done.data.token, "string");
  assert.ok(b.jar.get("better-auth.trust_device"), "the device is trusted");
  assert.equal((await b.client.getSession()).data.user.email, user.email);

  // The same code in another sign-in: refused.
  const other = newBrowser();
  await other.client.signIn.email({ email: user.email, password: PASSWORD });
  const replay = await other.client.twoFactor.verifyTotp({ code });
  assert.equal(replay.error?.code, "INVALID_CODE");

  // The trusted browser skips the second step; an untrusted one does not.
  await b.client.signOut();
  const trusted = await b.client.signIn.email({ email: user.email, password: PASSWORD });
  assert.equal(trusted.error, null);
  assert.equal(trusted.data.twoFactorRedirect, undefined);
  assert.equal(trusted.data.user.email, user.email);
  const untrusted = await newBrowser().client.signIn.email({ email: user.email, password: PASSWORD });
  assert.equal(untrusted.data.twoFactorRedirect, true);

  // Off again, with the password.
  const badOff = await owner.client.twoFactor.disable({ password: "Wrong-Password-1!" });
  assert.equal(badOff.error?.code, "INVALID_PASSWORD");
  const off = await owner.client.twoFactor.disable({ password: PASSWORD });
  assert.equal(off.error, null, JSON.stringify(off.error));
  assert.deepEqual(off.data, { status: true });
  const plain = await newBrowser().client.signIn.email({ email: user.email, password: PASSWORD });
  assert.equal(plain.data.twoFactorRedirect, undefined);
});

test("backup codes are single-use, a code by mail works, and a new set replaces the old", { timeout: 60_000 }, async () => {
  const user = await createVerifiedUser(newBrowser().client, { name: "Backup User" });
  const owner = await signedIn(user.email);
  const { backupCodes } = await enableTotp(owner.client);

  const a = newBrowser();
  await a.client.signIn.email({ email: user.email, password: PASSWORD });
  const used = await a.client.twoFactor.verifyBackupCode({ code: backupCodes[0] });
  assert.equal(used.error, null, JSON.stringify(used.error));
  assert.equal((await a.client.getSession()).data.user.email, user.email);

  const b = newBrowser();
  await b.client.signIn.email({ email: user.email, password: PASSWORD });
  const again = await b.client.twoFactor.verifyBackupCode({ code: backupCodes[0] });
  assert.equal(again.error?.code, "INVALID_BACKUP_CODE", "a backup code works once");

  const sent = await b.client.twoFactor.sendOtp();
  assert.equal(sent.error, null, JSON.stringify(sent.error));
  const mail = await latestMail(user.email, { where: (m) => /\b\d{6}\b/.test(m.subject) });
  const otp = /\b(\d{6})\b/.exec(mail.subject)[1];
  const wrong = await b.client.twoFactor.verifyOtp({ code: otp === "123456" ? "654321" : "123456" });
  assert.equal(wrong.error?.code, "INVALID_CODE");
  const right = await b.client.twoFactor.verifyOtp({ code: otp });
  assert.equal(right.error, null, JSON.stringify(right.error));
  assert.equal(right.data.user.email, user.email);

  const fresh = await owner.client.twoFactor.generateBackupCodes({ password: PASSWORD });
  assert.equal(fresh.error, null, JSON.stringify(fresh.error));
  assert.equal(fresh.data.status, true);
  assert.equal(fresh.data.backupCodes.length, 10);
  const c = newBrowser();
  await c.client.signIn.email({ email: user.email, password: PASSWORD });
  assert.equal((await c.client.twoFactor.verifyBackupCode({ code: backupCodes[1] })).error?.code, "INVALID_BACKUP_CODE", "the old set is gone");
  assert.equal((await c.client.twoFactor.verifyBackupCode({ code: fresh.data.backupCodes[0] })).error, null);
});

test("two-factor routes refuse without a session or challenge", { timeout: 30_000 }, async () => {
  const { client } = newBrowser();
  const r = await client.twoFactor.verifyTotp({ code: "123456" });
  assert.equal(r.error?.status, 401);
  assert.equal(r.error?.code, "INVALID_TWO_FACTOR_COOKIE");
  const e = await client.twoFactor.enable({ password: PASSWORD });
  assert.equal(e.error?.status, 401);
});
