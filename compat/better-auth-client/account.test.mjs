// The rest of the client surface: impersonation and permission checks
// (adminClient), change-email, update-session, verify-password, the linked
// accounts' token routes, and passkeys (the passkey client plugin, over a
// software authenticator in place of the browser's).

import { test } from "node:test";
import assert from "node:assert/strict";
import { SoftwareAuthenticator, installAuthenticator } from "./lib/authenticator.mjs";
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  BASE_URL,
  PASSWORD,
  TIMEOUT,
  createVerifiedUser,
  latestMail,
  newBrowser,
  signedIn,
  uniqueEmail,
} from "./lib/harness.mjs";

test("an admin acts as a student and comes back; an instructor cannot; hasPermission follows the roles", { timeout: TIMEOUT }, async () => {
  const admin = await signedIn(ADMIN_EMAIL, ADMIN_PASSWORD);
  const student = await createVerifiedUser(newBrowser().client, { name: "Acted On" });
  const studentId = (await signedIn(student.email)).signIn.user.id;

  const acting = await admin.client.admin.impersonateUser({ userId: studentId });
  assert.equal(acting.error, null, JSON.stringify(acting.error));
  assert.equal(acting.data.user.id, studentId);
  assert.equal(acting.data.session.impersonatedBy, admin.signIn.user.id);
  assert.ok(acting.data.session.expiresAt instanceof Date, "dates revive as Date");
  assert.ok(acting.data.session.expiresAt - Date.now() <= 3_600_000 + 5_000, "at most an hour");
  const now = await admin.client.getSession();
  assert.equal(now.data.user.id, studentId);
  assert.equal(now.data.session.impersonatedBy, admin.signIn.user.id);
  const denied = await admin.client.admin.listUsers();
  assert.equal(denied.error?.status, 403, "acting as a student gives a student's rights");

  const back = await admin.client.admin.stopImpersonating();
  assert.equal(back.error, null, JSON.stringify(back.error));
  assert.equal(back.data.user.id, admin.signIn.user.id);
  assert.equal((await admin.client.getSession()).data.user.id, admin.signIn.user.id);
  const notActing = await admin.client.admin.stopImpersonating();
  assert.equal(notActing.error?.status, 400);

  const adminTarget = await admin.client.admin.impersonateUser({ userId: admin.signIn.user.id });
  assert.equal(adminTarget.error?.code, "YOU_CANNOT_IMPERSONATE_ADMINS");

  const instructorEmail = uniqueEmail("instructor");
  const created = await admin.client.admin.createUser({ email: instructorEmail, password: PASSWORD, name: "Teacher", role: "instructor", data: { emailVerified: true } });
  assert.equal(created.error, null, JSON.stringify(created.error));
  const instructor = await signedIn(instructorEmail);
  const refused = await instructor.client.admin.impersonateUser({ userId: studentId });
  assert.equal(refused.error?.status, 403);
  assert.equal(refused.error?.code, "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS");

  for (const [who, permissions, success] of [
    [admin, { user: ["list", "ban"] }, true],
    [admin, { user: ["impersonate-admins"] }, false],
    [instructor, { course: ["author"] }, true],
    [instructor, { user: ["impersonate"] }, false],
  ]) {
    const r = await who.client.admin.hasPermission({ permissions });
    assert.equal(r.error, null, JSON.stringify(r.error));
    assert.deepEqual(r.data, { error: null, success }, JSON.stringify(permissions));
  }
});

test("changeEmail changes the address only after the new one is verified", { timeout: TIMEOUT }, async () => {
  const user = await createVerifiedUser(newBrowser().client, { name: "Mover" });
  const { client } = await signedIn(user.email);
  const newEmail = uniqueEmail("moved");
  const asked = await client.changeEmail({ newEmail, callbackURL: "/account" });
  assert.equal(asked.error, null, JSON.stringify(asked.error));
  assert.deepEqual(asked.data, { status: true });
  assert.equal((await client.getSession()).data.user.email, user.email, "unchanged until verified");
  const mail = await latestMail(newEmail);
  const link = new URL(/https?:\/\/\S*\/api\/auth\/verify-email\?\S+/.exec(mail.text)[0]);
  const verified = await client.verifyEmail({ query: { token: link.searchParams.get("token") } });
  assert.equal(verified.error, null, JSON.stringify(verified.error));
  const after = await client.getSession();
  assert.equal(after.data.user.email, newEmail);
  assert.equal(after.data.user.emailVerified, true);
  const same = await client.changeEmail({ newEmail });
  assert.equal(same.error?.status, 400);
});

test("updateSession, verifyPassword and the token routes answer in Better-Auth's shapes", { timeout: TIMEOUT }, async () => {
  const user = await createVerifiedUser(newBrowser().client, { name: "Shapes" });
  const { client } = await signedIn(user.email);
  const protectedField = await client.updateSession({ impersonatedBy: "someone" });
  assert.equal(protectedField.error?.code, "FIELD_NOT_ALLOWED");
  const nothing = await client.updateSession({ colour: "blue" });
  assert.equal(nothing.error?.status, 400);
  assert.equal(nothing.error?.message, "No fields to update");

  const ok = await client.verifyPassword({ password: PASSWORD });
  assert.equal(ok.error, null, JSON.stringify(ok.error));
  assert.deepEqual(ok.data, { status: true });
  const bad = await client.verifyPassword({ password: "Wrong-Password-1!" });
  assert.equal(bad.error?.code, "INVALID_PASSWORD");

  const accounts = await client.listAccounts();
  const credential = accounts.data.find((a) => a.providerId === "credential");
  const token = await client.getAccessToken({ accountId: credential.id });
  assert.equal(token.error?.code, "PROVIDER_NOT_SUPPORTED");
  const refreshed = await client.refreshToken({ accountId: credential.id });
  assert.equal(refreshed.error?.code, "PROVIDER_NOT_SUPPORTED");
  const info = await client.accountInfo({ query: { accountId: credential.id } });
  assert.equal(info.error?.code, "PROVIDER_NOT_CONFIGURED");
  const missing = await client.getAccessToken({ accountId: "no-such-account" });
  assert.equal(missing.error?.code, "ACCOUNT_NOT_FOUND");
});

test("passkeys: add, sign in with it (no second step), list, rename, delete", { timeout: TIMEOUT }, async () => {
  const authenticator = new SoftwareAuthenticator(BASE_URL);
  installAuthenticator(authenticator);
  const user = await createVerifiedUser(newBrowser().client, { name: "Passkey User" });
  const owner = await signedIn(user.email);
  // Two factors on: the passkey sign-in must still need nothing more.
  const otp = await owner.client.twoFactor.enable({ password: PASSWORD, method: "otp" });
  assert.equal(otp.error, null, JSON.stringify(otp.error));

  const added = await owner.client.passkey.addPasskey({ name: "Node key" });
  assert.equal(added.error, null, JSON.stringify(added.error));
  assert.equal(added.data.name, "Node key");
  assert.equal(added.data.userId, owner.signIn.user.id);
  assert.equal(typeof added.data.credentialID, "string");
  const twice = await owner.client.passkey.addPasskey({ name: "Again" });
  assert.equal(twice.error?.code, "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED", "the same authenticator is excluded");

  const b = newBrowser();
  const signedInWithPasskey = await b.client.signIn.passkey();
  assert.equal(signedInWithPasskey.error, null, JSON.stringify(signedInWithPasskey.error));
  assert.equal(signedInWithPasskey.data.user.email, user.email);
  assert.equal(b.twoFactorRedirects.length, 0, "a passkey counts as both factors");
  assert.equal((await b.client.getSession()).data.user.email, user.email);

  const listed = await b.client.passkey.listUserPasskeys();
  assert.equal(listed.error, null, JSON.stringify(listed.error));
  assert.equal(listed.data.length, 1);
  assert.equal(listed.data[0].counter, 1);
  const renamed = await b.client.passkey.updatePasskey({ id: listed.data[0].id, name: "Renamed key" });
  assert.equal(renamed.error, null, JSON.stringify(renamed.error));
  assert.equal(renamed.data.passkey.name, "Renamed key");
  const deleted = await b.client.passkey.deletePasskey({ id: listed.data[0].id });
  assert.equal(deleted.error, null, JSON.stringify(deleted.error));
  assert.deepEqual(deleted.data, { status: true });
  const gone = await newBrowser().client.signIn.passkey();
  assert.equal(gone.error?.code, "PASSKEY_NOT_FOUND");
});
