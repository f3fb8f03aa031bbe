// The admin's staff and card-key page in a real browser against a real
// devnet node (started by node/tests/browser.rs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  setting, launch, strictPage, assertNoProblems, assertAccessible, screenshot, signIn,
} from "./lib.mjs";

const base = setting("RECIP_WEB_URL");
const admin = { user: setting("RECIP_ADMIN_USER"), password: setting("RECIP_ADMIN_PASSWORD") };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("an admin creates a front-desk account, which signs in, then disables it and its session ends", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, admin.user, admin.password, "/staff");
  assert.equal(new URL(page.url()).pathname, "/staff");
  await page.getByLabel("Login", { exact: true }).fill("door2");
  await page.getByLabel("Password", { exact: true }).fill("a long door password");
  await page.locator("form[action='/staff'] input[value='front_desk']").check();
  await page.getByRole("button", { name: "Create the account" }).click();
  await page.locator(".notice").filter({ hasText: "Account door2 created" }).waitFor();
  await assertAccessible(page, "/staff");
  await screenshot(page, "staff");

  const door = await strictPage(browser);
  await signIn(door, base, "door2", "a long door password", "/desk");
  assert.equal(new URL(door.url()).pathname, "/desk");

  await page.getByText("Change door2").click();
  await page.locator("form[action='/staff/accounts/door2'] input[name='disabled'][type='checkbox']").check();
  await page.getByRole("button", { name: "Save door2" }).click();
  await page.locator(".notice").filter({ hasText: "Account door2 changed" }).waitFor();
  assert.match(await page.locator("tr", { hasText: "door2" }).first().innerText(), /disabled/);
  await door.goto(base + "/desk");
  assert.equal(new URL(door.url()).pathname, "/login", "the disabled account's session ended");
  assertNoProblems(page);
  await door.context().close();
  await page.context().close();
});

test("an admin makes a new card key, retiring the current one, and revokes it only when confirmed", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, admin.user, admin.password, "/staff");
  const rows = page.locator("section[aria-labelledby='keys-head'] tbody tr");
  const before = await rows.count();
  await page.getByRole("button", { name: /Make a new card key/ }).click();
  await page.locator(".notice").filter({ hasText: "New card key enrolled" }).waitFor();
  assert.equal(await rows.count(), before + 1);
  assert.match(await rows.nth(0).innerText(), /current/);
  assert.match(await rows.nth(1).innerText(), /retired/);
  // Revoke the new key: unconfirmed first, refused; then confirmed.
  await rows.nth(0).getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("alert").filter({ hasText: "Type “revoke” to confirm" }).waitFor();
  await rows.nth(0).getByPlaceholder("type revoke").fill("revoke");
  await rows.nth(0).getByRole("button", { name: "Revoke" }).click();
  await page.locator(".notice").filter({ hasText: "Card key revoked" }).waitFor();
  assert.match(await rows.nth(0).innerText(), /revoked/);
  await screenshot(page, "staff-card-keys");
  assertNoProblems(page);
  await page.context().close();
});
