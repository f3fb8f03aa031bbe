// The registrar's pages in a real browser against a real devnet node
// (started by node/tests/browser.rs): members, a member's card, the CSV
// import with its progress and its per-row errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import {
  setting, launch, strictPage, assertNoProblems, assertAccessible, screenshot, signIn,
} from "./lib.mjs";

const base = setting("RECIP_WEB_URL");
const registrar = { user: setting("RECIP_REGISTRAR_USER"), password: setting("RECIP_REGISTRAR_PASSWORD") };
const desk = { user: setting("RECIP_DESK_USER"), password: setting("RECIP_DESK_PASSWORD") };
const cardPdf = setting("RECIP_CARD_PDF");

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test("the registrar registers a member, changes the validity, issues and prints a card", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, registrar.user, registrar.password, "/members");
  assert.equal(new URL(page.url()).pathname, "/members");
  await assertAccessible(page, "/members");
  await screenshot(page, "members");

  await page.getByRole("link", { name: "Register a member" }).click();
  await page.waitForURL(/\/members\/new$/);
  await page.getByLabel("Membership number").fill("WEB-1");
  await page.getByLabel("Full name").fill("Wendy Web");
  await page.getByLabel("Tier").fill("full");
  await page.getByLabel("Valid until").fill("2030-06-30");
  await page.getByLabel(/E-mail/).fill("wendy@example.org");
  await assertAccessible(page, "/members/new");
  await screenshot(page, "member-register");
  await page.getByRole("button", { name: "Register" }).click();
  await page.waitForURL(/\/members\/[0-9a-f]{32}/);
  await page.locator(".notice").filter({ hasText: "Member registered" }).waitFor();
  const memberPath = new URL(page.url()).pathname;
  assert.match(await page.locator("main").innerText(), /WEB-1/);

  await page.getByLabel("Valid until").fill("2031-12-31");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator(".notice").filter({ hasText: "Saved" }).waitFor();
  assert.match(await page.locator("dl.facts").innerText(), /2031-12-31/);

  await page.getByRole("button", { name: "Issue the first card" }).click();
  await page.locator(".notice").filter({ hasText: "Card no. 1 issued" }).waitFor();
  assert.match(await page.locator("#card-head + p").innerText(), /Card no\. 1, issued .* valid until 2031-12-31/);
  await assertAccessible(page, "a member's page with a card");
  await screenshot(page, "member");

  // A letter of introduction to the other club, for today.
  await page.getByRole("button", { name: "Issue the letter" }).click();
  await page.locator(".notice").filter({ hasText: /Letter of introduction to \S+ issued/ }).waitFor();
  assert.match(await page.locator("section[aria-labelledby='intro-head'] li").first().innerText(), /^to \S+, \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}$/);

  const link = page.getByRole("link", { name: "Print the card (PDF)" });
  const href = await link.getAttribute("href");
  const pdf = await page.request.get(base + href);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()["content-type"], "application/pdf");
  const bytes = await pdf.body();
  assert.equal(bytes.subarray(0, 5).toString(), "%PDF-");
  writeFileSync(cardPdf, bytes);
  const png = await page.request.get(base + memberPath + "/card/png");
  assert.equal(png.headers()["content-type"], "image/png");

  // Found by part of the name and by the exact number.
  await page.goto(base + "/members?q=wendy");
  await page.getByRole("link", { name: "Wendy Web" }).waitFor();
  await page.goto(base + "/members?q=WEB-1");
  await page.getByRole("link", { name: "Wendy Web" }).waitFor();
  await assertAccessible(page, "/members with a search");
  await screenshot(page, "members-search");

  // A suspended member gets no new card.
  await page.goto(base + memberPath);
  await page.getByLabel("Status").selectOption("suspended");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator(".notice").filter({ hasText: "Saved" }).waitFor();
  await page.getByRole("button", { name: /Issue a new card/ }).click();
  await assert.doesNotReject(page.getByRole("alert").filter({ hasText: "No card was issued" }).waitFor());
  assert.match(await page.getByRole("alert").innerText(), /not active/i);
  assertNoProblems(page);
  await page.context().close();
});

function csv(rows) {
  return ["member_number,full_name,tier,valid_until", ...rows].join("\n") + "\n";
}

test("a CSV of three thousand members imports and its progress bar reaches 100%", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, registrar.user, registrar.password, "/members/import");
  await assertAccessible(page, "/members/import");
  await screenshot(page, "import");
  const rows = [];
  for (let i = 1; i <= 3000; i++) rows.push(`IMP-${i},Imported Member ${i},full,2030-01-01`);
  await page.getByLabel("CSV file").setInputFiles({
    name: "members.csv", mimeType: "text/csv", buffer: Buffer.from(csv(rows)),
  });
  await page.getByRole("button", { name: "Import" }).click();
  await page.waitForURL(/\/members\/imports\/[0-9a-f]+$/);
  await page.locator("#import-head").filter({ hasText: "Import finished" }).waitFor({ timeout: 120_000 });
  assert.equal(await page.locator("#import-percent").innerText(), "100%");
  assert.equal(await page.locator("#import-bar").getAttribute("value"), "3000");
  assert.match(await page.locator("#import-progress").innerText(), /3000 of 3000 registered/);
  await assertAccessible(page, "an import's progress");
  await screenshot(page, "import-done");
  await page.goto(base + "/members?q=IMP-2999");
  await page.getByRole("link", { name: "Imported Member 2999" }).waitFor();
  assertNoProblems(page);
  await page.context().close();
});

test("a CSV with a bad row shows that row and imports nothing", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, registrar.user, registrar.password, "/members/import");
  const file = csv(["BAD-1,Good Row,full,2030-01-01", "BAD-2,Bad Date,full,2030-13-45", "BAD-3,Good Too,full,2030-01-01"]);
  await page.getByLabel("CSV file").setInputFiles({ name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from(file) });
  await page.getByRole("button", { name: "Import" }).click();
  const alert = page.getByRole("alert");
  await alert.filter({ hasText: "1 row is invalid" }).waitFor();
  assert.match(await alert.innerText(), /Nothing was imported/);
  const bad = page.locator("tr.row-error");
  assert.equal(await bad.count(), 1);
  assert.match(await bad.innerText(), /^3\s+BAD-2\s+.*valid_until/);
  await assertAccessible(page, "/members/import with a bad row");
  await screenshot(page, "import-bad-row");
  await page.goto(base + "/members?q=BAD-1");
  await page.locator("main").filter({ hasText: "No member matches" }).waitFor();
  assertNoProblems(page);
  await page.context().close();
});

test("the front desk opening the members page is refused", async () => {
  const page = await strictPage(browser);
  await signIn(page, base, desk.user, desk.password, "/desk");
  const response = await page.goto(base + "/members");
  assert.equal(response.status(), 403);
  assert.match(await page.locator("main").innerText(), /This page is for the registrar/);
  await page.context().close();
});
