// Shared helpers of the browser tests: Debian's chromium through
// playwright-core (no browser download), an axe-core check, screenshots.
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** A setting the Rust side passes in the environment. */
export function setting(name) {
  const value = process.env[name];
  assert.ok(value, `environment variable ${name} is not set (node/tests/browser.rs sets it)`);
  return value;
}

/** Launches headless chromium as this machine allows (root, closed network). */
export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.RECIP_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ...extraArgs,
    ],
  });
}

/**
 * A new page that fails the test on any console error (a CSP violation is
 * one) and any uncaught page error.
 */
export async function strictPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
  // Say where a CSP violation comes from (file, line, what was refused).
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP ${e.violatedDirective} refused ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`);
    });
  });
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const text = message.text();
    // An answer the test asked for (401 for a wrong password, 403 for a
    // refusal) is logged by the browser as a failed load; a missing file
    // (404) or a server error (5xx) is a problem.
    const status = /status of (\d{3})/.exec(text);
    if (status && status[1] !== "404" && !status[1].startsWith("5")) return;
    page.problems.push(`console: ${text}`);
  });
  page.on("pageerror", (error) => page.problems.push(`page error: ${error.message}`));
  return page;
}

/** Asserts that the page logged no errors so far. */
export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], "the page logged errors");
}

/** Runs axe-core on the page: no serious or critical violation. */
export async function assertAccessible(page, label) {
  // Evaluated through the DevTools protocol, which the page's CSP (no
  // inline script, no eval) does not apply to.
  // axe-core adds empty <style> elements while it runs, which the page's
  // CSP refuses (and logs); what the page logs meanwhile is axe's, not the
  // app's, and is dropped.
  const logged = page.problems.length;
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  await page.waitForTimeout(100); // the console events of axe's run arrive
  page.problems.splice(logged);
  assert.deepEqual(violations, [], `accessibility violations on ${label}`);
}

/** Saves a full-page screenshot as `<name>.png` under RECIP_SCREENSHOTS. */
export async function screenshot(page, name) {
  const dir = setting("RECIP_SCREENSHOTS");
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Signs in at `base` and waits for the page after sign-in. */
export async function signIn(page, base, username, password, path = "/") {
  await page.goto(base + path);
  await page.waitForURL(/\/login/);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}
