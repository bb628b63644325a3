// The admin plugin's client: roles, bans, and who may list users.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ADMIN_EMAIL, ADMIN_PASSWORD, TIMEOUT, createVerifiedUser, newBrowser, signedIn } from "./lib/harness.mjs";

test("admin sets a role and bans a user; non-admins may not list users", { timeout: TIMEOUT }, async () => {
  const admin = await signedIn(ADMIN_EMAIL, ADMIN_PASSWORD);
  assert.equal(admin.signIn.user.role, "admin", "the bootstrap account is an admin");

  const target = await createVerifiedUser(newBrowser().client, { name: "Target User" });
  const targetBrowser = await signedIn(target.email);
  const userId = targetBrowser.signIn.user.id;
  assert.equal(targetBrowser.signIn.user.role, "student");

  const listed = await admin.client.admin.listUsers({ query: { searchValue: target.email, searchField: "email" } });
  assert.equal(listed.error, null, `list-users failed: ${JSON.stringify(listed.error)}`);
  assert.ok(listed.data.users.some((u) => u.id === userId), "the admin sees the new user");
  assert.equal(typeof listed.data.total, "number");

  const promoted = await admin.client.admin.setRole({ userId, role: "instructor" });
  assert.equal(promoted.error, null, `set-role failed: ${JSON.stringify(promoted.error)}`);
  assert.equal(promoted.data.user.id, userId);
  assert.equal(promoted.data.user.role, "instructor");
  const seenByTarget = await targetBrowser.client.getSession();
  assert.equal(seenByTarget.data?.user.role, "instructor", "the user's own session shows the new role");

  const banned = await admin.client.admin.banUser({ userId });
  assert.equal(banned.error, null, `ban-user failed: ${JSON.stringify(banned.error)}`);
  assert.equal(banned.data.user.id, userId);
  assert.equal(banned.data.user.banned, true);

  const gone = await targetBrowser.client.getSession();
  assert.equal(gone.error, null);
  assert.equal(gone.data, null, "banning ends the user's existing sessions");

  const refused = await newBrowser().client.signIn.email({ email: target.email, password: target.password });
  assert.equal(refused.data, null);
  assert.equal(refused.error.status, 403);
  assert.equal(refused.error.code, "BANNED_USER");
});

test("a student calling admin endpoints gets 403", { timeout: TIMEOUT }, async () => {
  const student = await createVerifiedUser(newBrowser().client, { name: "Plain Student" });
  const { client, signIn } = await signedIn(student.email);
  assert.equal(signIn.user.role, "student");

  const list = await client.admin.listUsers();
  assert.equal(list.data, null);
  assert.equal(list.error.status, 403);

  const selfPromote = await client.admin.setRole({ userId: signIn.user.id, role: "admin" });
  assert.equal(selfPromote.error?.status, 403, "a student cannot promote itself");
  const after = await client.getSession();
  assert.equal(after.data.user.role, "student");
});

test("admin endpoints without a session answer 401", { timeout: TIMEOUT }, async () => {
  const { client } = newBrowser();
  const list = await client.admin.listUsers();
  assert.equal(list.error?.status, 401);
});
