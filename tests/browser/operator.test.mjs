// The operator's page (the club's admins) in a real browser against a real
// devnet node (started by node/tests/browser.rs): the node's status, live.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  setting, launch, strictPage, assertNoProblems, assertAccessible, screenshot, signIn,
} from "./lib.mjs";

const base = setting("RECIP_WEB_URL");
const admin = { user: setting("RECIP_ADMIN_USER"), password: setting("RECIP_ADMIN_PASSWORD") };
const desk = { user: setting("RECIP_DESK_USER"), password: setting("RECIP_DESK_PASSWORD") };

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("an admin sees the node's height, leader, peers and last blocks, refreshed live", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, admin.user, admin.password, "/node");
  assert.equal(new URL(page.url()).pathname, "/node");
  const height = Number(await page.locator("#node-height").innerText());
  assert.ok(height > 0, "a height");
  const status = await page.locator("#node-status").innerText();
  assert.match(status, /Leader\s+[0-9a-f]{16} \(/);
  assert.match(status, /SQL index\s+(up to date|\d+ blocks? behind)/);
  assert.ok((await page.locator("#node-status table").first().locator("tbody tr").count()) >= 2, "the membership");
  await page.waitForRequest((r) => r.url().endsWith("/node/status"), { timeout: 10_000 });
  await page.locator("#node-status").waitFor();
  await assertAccessible(page, "/node");
  await screenshot(page, "node");
  const metrics = await page.request.get(base + (await page.getByRole("link", { name: /Metrics/ }).getAttribute("href")));
  assert.equal(metrics.status(), 200);
  assert.match(await metrics.text(), /recip_/);
  const openapi = await page.request.get(base + "/openapi.json");
  assert.equal(openapi.status(), 200);
  assertNoProblems(page);
  await page.context().close();
});

test("the front desk opening the node's page is refused", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, desk.user, desk.password, "/desk");
  const response = await page.goto(base + "/node");
  assert.equal(response.status(), 403);
  await page.context().close();
});
