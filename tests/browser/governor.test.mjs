// The governors' pages in a real browser against two real devnet nodes
// (started by node/tests/browser.rs): a proposal opened at one club, its
// tally followed live at the other while the first club votes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  setting, launch, strictPage, assertNoProblems, assertAccessible, screenshot, signIn,
} from "./lib.mjs";

const homeBase = setting("RECIP_WEB_URL");
const otherBase = setting("RECIP_OTHER_WEB_URL");
const home = { user: setting("RECIP_GOVERNOR_USER"), password: setting("RECIP_GOVERNOR_PASSWORD") };
const other = { user: setting("RECIP_OTHER_GOVERNOR_USER"), password: setting("RECIP_OTHER_GOVERNOR_PASSWORD") };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("a governor opens a proposal and votes; the other club's governor sees the tally change live", async () => {
  const page = await strictPage(browser);
  await signIn(page, homeBase, home.user, home.password, "/proposals");
  assert.equal(new URL(page.url()).pathname, "/proposals");
  await assertAccessible(page, "/proposals");
  await page.getByRole("link", { name: "Open a proposal" }).click();
  await page.waitForURL(/\/proposals\/new$/);
  await page.getByLabel("A resolution (not binding)").check();
  await page.getByLabel(/Resolution text/).fill("The network thanks its founding clubs.");
  await page.getByLabel("Voting period (days)").fill("2");
  await assertAccessible(page, "/proposals/new");
  await screenshot(page, "proposal-new");
  await page.getByRole("button", { name: "Open the proposal" }).click();
  await page.waitForURL(/\/proposals\/[0-9a-f]{64}/);
  await page.locator(".notice").filter({ hasText: "Proposal opened" }).waitFor();
  const proposalPath = new URL(page.url()).pathname;
  assert.match(await page.locator("#tally-count").innerText(), /0 yes, 0 no, 0 abstain · 1 d 23 h left|0 yes, 0 no, 0 abstain · 2 d 0 h left|0 yes, 0 no, 0 abstain · 1 d \d+ h left/);

  // The other club's governor opens the same proposal on its own node.
  const watcher = await strictPage(browser);
  await signIn(watcher, otherBase, other.user, other.password, "/proposals");
  for (let i = 0; i < 50 && (await watcher.goto(otherBase + proposalPath)).status() === 404; i++) {
    await watcher.waitForTimeout(200);
  }
  await watcher.locator("#tally").waitFor();
  assert.match(await watcher.locator("#tally-count").innerText(), /^0 yes/);
  await assertAccessible(watcher, "a proposal's page");

  await page.getByRole("button", { name: "Vote yes" }).click();
  await page.locator(".notice").filter({ hasText: "vote is recorded: yes" }).waitFor();
  // No reload on the watcher's page: the tally refreshes itself.
  await watcher.locator("#tally-count").filter({ hasText: /^1 yes/ }).waitFor({ timeout: 15_000 });
  await screenshot(watcher, "proposal-tally-live");

  // The home club changes its mind: with no yes left, no vote still to come
  // can pass it, and it closes at once; the watcher's page shows the outcome.
  await page.getByRole("button", { name: "Vote no" }).click();
  await page.locator(".notice").filter({ hasText: "vote is recorded: no" }).waitFor();
  await watcher.locator("#outcome").filter({ hasText: "Rejected" }).waitFor({ timeout: 15_000 });
  assert.match(await watcher.locator("#tally-count").innerText(), /^0 yes, 1 no, 0 abstain · voting ended/);
  // A vote after the close is refused with the reason.
  await watcher.getByRole("button", { name: "Vote yes" }).click();
  await watcher.getByRole("alert").filter({ hasText: "The vote was not recorded" }).waitFor();
  assert.match(await watcher.getByRole("alert").innerText(), /closed/i);
  assert.equal(await watcher.getByRole("button", { name: "Vote yes" }).count(), 0, "no vote buttons once closed");
  await screenshot(watcher, "proposal-decided");
  await page.goto(homeBase + "/proposals");
  await screenshot(page, "proposals");
  assertNoProblems(page);
  assertNoProblems(watcher);
  await page.context().close();
  await watcher.context().close();
});

test("a registrar opening the proposals page is refused", async () => {
  const page = await strictPage(browser);
  await signIn(page, homeBase, setting("RECIP_REGISTRAR_USER"), setting("RECIP_REGISTRAR_PASSWORD"), "/members");
  const response = await page.goto(homeBase + "/proposals");
  assert.equal(response.status(), 403);
  assert.match(await page.locator("main").innerText(), /This page is for the governor/);
  await page.context().close();
});
