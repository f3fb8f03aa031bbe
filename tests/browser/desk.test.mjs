// The front desk in a real browser against a real devnet node (started by
// node/tests/browser.rs, which passes the URLs, logins and members).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  setting, launch, strictPage, assertNoProblems, assertAccessible, screenshot, signIn,
} from "./lib.mjs";

const base = setting("RECIP_WEB_URL");
const desk = { user: setting("RECIP_DESK_USER"), password: setting("RECIP_DESK_PASSWORD") };
const registrar = { user: setting("RECIP_REGISTRAR_USER"), password: setting("RECIP_REGISTRAR_PASSWORD") };
const visitor = setting("RECIP_VISITOR");
const suspended = setting("RECIP_SUSPENDED_VISITOR");
const card = setting("RECIP_CARD");
const replacedCard = setting("RECIP_REPLACED_CARD");
const cardVideo = setting("RECIP_CARD_VIDEO");
const carded = setting("RECIP_CARDED_VISITOR");

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function check(page, member, guests = 0) {
  const field = page.getByLabel("Member id or card code");
  await field.fill(member);
  await page.getByLabel("Guests").fill(String(guests));
  // The answer already shown is marked, so that only the new one counts.
  await page.evaluate(() => document.getElementById("answer")?.setAttribute("data-stale", ""));
  await field.press("Enter");
  await page.locator("#answer:not([data-stale])").waitFor();
}

test("the sign-in page answers without a session and passes the accessibility check", async () => {
  const page = await strictPage(browser);
  const response = await page.goto(base + "/desk");
  assert.equal(new URL(page.url()).pathname, "/login");
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
  await assertAccessible(page, "/login");
  await screenshot(page, "login");
  await page.getByLabel("Username").fill(desk.user);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await assert.doesNotReject(page.getByRole("alert").filter({ hasText: "wrong username or password" }).waitFor());
  assertNoProblems(page);
  await page.context().close();
});

test("the front desk checks a visitor, records the visit, sees it counted, and voids it", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, desk.user, desk.password, "/desk");
  assert.equal(new URL(page.url()).pathname, "/desk");
  const who = page.locator(".who");
  await assert.doesNotReject(who.filter({ hasText: desk.user }).waitFor());
  assert.match(await who.innerText(), /front desk/);
  await assertAccessible(page, "/desk");
  await screenshot(page, "desk");

  await check(page, visitor, 1);
  const answer = page.locator("#answer");
  assert.equal(await answer.getByRole("heading").innerText(), "Eligible");
  assert.match(await answer.innerText(), /Visit-days left/);
  assert.match(await answer.innerText(), /not yet counted/);
  await assertAccessible(page, "/desk with an eligible answer");
  await screenshot(page, "desk-eligible");

  await page.getByRole("button", { name: /Record visit/ }).click();
  await page.locator(".notice").filter({ hasText: "Visit recorded" }).waitFor();
  const row = page.locator("table.list tbody tr").filter({ hasText: visitor });
  await row.waitFor();
  assert.equal((await row.locator("td").nth(3).innerText()).trim(), "1", "the guest count is listed");
  await screenshot(page, "desk-recorded");

  await check(page, visitor);
  assert.equal(await answer.getByRole("heading").innerText(), "Eligible");
  assert.match(await answer.innerText(), /already counts as a visit-day/);

  await row.getByRole("button", { name: /Void/ }).click();
  await page.locator(".notice").filter({ hasText: "Visit voided" }).waitFor();
  assert.match(await page.locator("table.list tbody tr").filter({ hasText: visitor }).innerText(), /voided/);
  await screenshot(page, "desk-voided");
  assertNoProblems(page);
  await page.context().close();
});

test("a member card's code, pasted or typed by a scanner, is verified and checked", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, desk.user, desk.password, "/desk");
  await check(page, card);
  const answer = page.locator("#answer");
  assert.equal(await answer.getByRole("heading").innerText(), "Eligible");
  assert.match(await answer.innerText(), /Card\s+no\. 2, valid until .*signature and serial verified/);
  assert.match(await answer.innerText(), /Visit-days left/);
  await screenshot(page, "desk-card-eligible");
  await check(page, replacedCard);
  assert.equal(await answer.getByRole("heading").innerText(), "Refused");
  assert.match(await answer.locator(".reason").innerText(), /card no\. 1; card no\. 2 was printed since/);
  assert.equal(await page.getByRole("button", { name: /Record visit/ }).count(), 0);
  // The card's code stays out of the address bar; the field is left empty,
  // not filled with the refused card's member id.
  assert.ok(!page.url().includes("RC1"), page.url());
  assert.equal(await page.getByLabel("Member id or card code").inputValue(), "");
  await assertAccessible(page, "/desk with a replaced card refused");
  await screenshot(page, "desk-card-replaced");
  // One character changed: the signature no longer verifies (or the code no longer decodes).
  const at = card.length - 20;
  const tampered = card.slice(0, at) + (card[at] === "A" ? "B" : "A") + card.slice(at + 1);
  await check(page, tampered);
  assert.equal(await answer.getByRole("heading").innerText(), "Refused");
  assert.match(await answer.locator(".reason").innerText(), /Card refused: The card('s code is damaged|'s signature does not verify)/);
  // Checked by id, a member with a card is eligible, and the desk is told the card was not verified.
  await check(page, carded);
  assert.equal(await answer.getByRole("heading").innerText(), "Eligible");
  assert.match(await answer.innerText(), /Card\s+not checked: checked by member id; the member's card is no\. 2/);
  assertNoProblems(page);
  await page.context().close();
});

test("the camera reads a member card's QR code and checks it", async () => {
  const cameraBrowser = await launch([
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-video-capture=${cardVideo}`,
  ]);
  try {
    const page = await strictPage(cameraBrowser, { permissions: ["camera"] });
    await signIn(page, base, desk.user, desk.password, "/desk");
    const scan = page.getByRole("button", { name: "Scan with camera" });
    await scan.waitFor();
    await scan.click();
    await page.locator("#answer").waitFor({ timeout: 20_000 });
    const answer = page.locator("#answer");
    assert.equal(await answer.getByRole("heading").innerText(), "Eligible");
    assert.match(await answer.innerText(), /Card\s+no\. 2/);
    await screenshot(page, "desk-camera-scanned");
    assertNoProblems(page);
    await page.context().close();
  } finally {
    await cameraBrowser.close();
  }
});

test("a suspended visitor is refused with the reason", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, desk.user, desk.password, "/desk");
  await check(page, suspended);
  const answer = page.locator("#answer");
  assert.equal(await answer.getByRole("heading").innerText(), "Refused");
  assert.match(await answer.locator(".reason").innerText(), /not active|suspended/i);
  assert.equal(await page.getByRole("button", { name: /Record visit/ }).count(), 0);
  await assertAccessible(page, "/desk with a refusal");
  await screenshot(page, "desk-refused");
  assertNoProblems(page);
  await page.context().close();
});

test("a typed id that is not a member id says what a member id is", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, desk.user, desk.password, "/desk");
  const field = page.getByLabel("Member id or card code");
  await field.fill("12345");
  await field.press("Enter");
  await assert.doesNotReject(page.getByRole("alert").filter({ hasText: "32 hex digits" }).waitFor());
  await page.context().close();
});

test("another role opening the front desk is refused, and so is a form without its CSRF token", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, registrar.user, registrar.password, "/");
  await assertAccessible(page, "/ as a registrar");
  await screenshot(page, "home-registrar");
  const response = await page.goto(base + "/desk");
  assert.equal(response.status(), 403);
  assert.match(await page.locator("main").innerText(), /This page is for the front desk/);
  await assertAccessible(page, "/desk refused to a registrar");
  await screenshot(page, "desk-refused-to-registrar");
  await page.context().close();

  const deskPage = await strictPage(browser);
  await signIn(deskPage, base, desk.user, desk.password, "/desk");
  // The session cookie alone, without the form's token (what a forged form
  // would carry if the browser sent the cookie at all).
  const forged = await deskPage.request.post(base + "/desk/visits", {
    form: { member: visitor, guests: "0" },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /CSRF token/);
  const wrong = await deskPage.request.post(base + "/desk/visits", {
    form: { member: visitor, guests: "0", csrf: "0".repeat(64) },
    maxRedirects: 0,
  });
  assert.equal(wrong.status(), 403);
  await deskPage.context().close();
});

test("signing out ends the session", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, desk.user, desk.password, "/desk");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login/);
  await page.goto(base + "/desk");
  assert.equal(new URL(page.url()).pathname, "/login");
  await page.context().close();
});

test("the front desk page fits a tablet", async () => {
  const page = await strictPage(browser, { viewport: { width: 820, height: 1180 }, hasTouch: true });
  await signIn(page, base, desk.user, desk.password, "/desk");
  await check(page, visitor);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, "no horizontal scrolling on a tablet");
  await screenshot(page, "desk-tablet");
  await page.context().close();
});
