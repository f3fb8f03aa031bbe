// The admins' agreement pages in a real browser against two real devnet
// nodes (started by node/tests/browser.rs): one club offers amended terms,
// the other sees them beside the terms in force, differences marked, and
// accepts; then suspends and resumes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  setting, launch, strictPage, assertNoProblems, assertAccessible, screenshot, signIn,
} from "./lib.mjs";

const homeBase = setting("RECIP_WEB_URL");
const otherBase = setting("RECIP_OTHER_WEB_URL");
const otherClub = setting("RECIP_OTHER_CLUB");
const homeClub = setting("RECIP_HOME_CLUB");
const home = { user: setting("RECIP_ADMIN_USER"), password: setting("RECIP_ADMIN_PASSWORD") };
const other = { user: setting("RECIP_OTHER_ADMIN_USER"), password: setting("RECIP_OTHER_ADMIN_PASSWORD") };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("an admin offers amended terms; the other club's admin sees the differences and accepts", async () => {
  const page = await strictPage(browser);
  await signIn(page, homeBase, home.user, home.password, "/agreements");
  assert.equal(new URL(page.url()).pathname, "/agreements");
  await assertAccessible(page, "/agreements");
  await screenshot(page, "agreements");
  await page.locator(`a[href="/agreements/${otherClub}"]`).click();
  await page.waitForURL(new RegExp(`/agreements/${otherClub}$`));
  assert.match(await page.locator("#agreement-state").innerText(), /in force/);
  await page.getByRole("link", { name: "Offer amended terms" }).click();
  await page.waitForURL(/\/offer$/);
  await page.getByLabel("Visit-days per month").fill("6");
  await page.getByLabel("Fee per visit").fill("30.00");
  await assertAccessible(page, "the terms form");
  await screenshot(page, "agreement-offer");
  await page.getByRole("button", { name: "Offer the amendment" }).click();
  await page.locator(".notice").filter({ hasText: "Terms offered" }).waitFor();

  const watcher = await strictPage(browser);
  await signIn(watcher, otherBase, other.user, other.password, "/agreements");
  const path = `/agreements/${homeClub}`;
  for (let i = 0; i < 50; i++) {
    await watcher.goto(otherBase + path);
    if (await watcher.getByRole("button", { name: "Accept these terms" }).count()) break;
    await watcher.waitForTimeout(200);
  }
  const changed = watcher.locator("table.terms tr.changed");
  assert.equal(await changed.count(), 2, "visit-days per month and the fee differ");
  assert.match(await changed.nth(0).innerText(), /Visit-days per month\s+\d+\s+6\s+changed/);
  assert.match(await changed.nth(1).innerText(), /Fee per visit.*EUR 30\.00.*changed/s);
  assert.match(await watcher.locator("main").innerText(), /2 terms differ/);
  await assertAccessible(watcher, "an offer beside the terms in force");
  await screenshot(watcher, "agreement-compare");
  await watcher.getByRole("button", { name: "Accept these terms" }).click();
  await watcher.locator(".notice").filter({ hasText: "Accepted" }).waitFor();
  assert.equal(await watcher.locator("table.terms tr.changed").count(), 0);
  assert.match(await watcher.locator("table.terms").innerText(), /Visit-days per month\s+6/);

  // Suspend and resume on the watcher's side; the termination date is shown first.
  assert.match(await watcher.locator("main").innerText(), /End the agreement on \d{4}-\d{2}-\d{2}/);
  await watcher.getByRole("button", { name: "Suspend on our side" }).click();
  await watcher.locator(".notice").filter({ hasText: "Suspended on your side" }).waitFor();
  assert.match(await watcher.locator("#agreement-state").innerText(), /suspended/);
  await watcher.getByRole("button", { name: "Resume" }).click();
  await watcher.locator(".notice").filter({ hasText: "Resumed" }).waitFor();
  assert.match(await watcher.locator("#agreement-state").innerText(), /in force/);
  await screenshot(watcher, "agreement");
  assertNoProblems(page);
  assertNoProblems(watcher);
  await page.context().close();
  await watcher.context().close();
});
