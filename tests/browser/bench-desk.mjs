// Benchmark: the front desk in a real browser on a running devnet
// (`make devnet`, or `recip devnet --dir <dir>`). Registers a member at
// the first club and prints its card, signs in at the second club's front
// desk, then times, in the page, the round trip from a card's code entered
// (as a scanner types it and presses Enter) to the answer on screen, and
// the bytes the first load of the front-desk page transfers. Prints one
// JSON line.
//
//   node tests/browser/bench-desk.mjs [devnet/devnet.json] [rounds]
import { readFileSync } from "node:fs";
import { launch, signIn } from "./lib.mjs";

const listingPath = process.argv[2] || "devnet/devnet.json";
const rounds = Number(process.argv[3] || 200);
const listing = JSON.parse(readFileSync(listingPath, "utf8"));
const [home, host] = listing.nodes;
if (!home || !host) throw new Error(`${listingPath} lists fewer than two clubs`);
const login = (node, role) => node.staff.find((s) => s.role === role);

async function rest(base, token, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text.startsWith("{") ? JSON.parse(text) : text;
}

async function token(node, role) {
  const { username, password } = login(node, role);
  return (await rest(node.http, null, "POST", "/v1/auth/login", { username, password })).token;
}

// A member of the home club with a card, known at the host.
const registrar = await token(home, "registrar");
const number = `BENCH-${Date.now()}`;
const registered = await rest(home.http, registrar, "POST", "/v1/members", {
  member_number: number, full_name: "Bench Visitor", tier: "full", valid_until: "2035-12-31",
});
const memberId = registered.member.member_id;
const card = (await rest(home.http, registrar, "POST", `/v1/members/${memberId}/card`)).credential;
const desk = await token(host, "front_desk");
for (let i = 0; ; i++) {
  const check = await rest(host.http, desk, "POST", "/v1/visits/check", { card });
  if (check.card?.accepted) break;
  if (i > 100) throw new Error(`the host never accepted the card: ${JSON.stringify(check)}`);
  await new Promise((r) => setTimeout(r, 100));
}

const browser = await launch();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const { username, password } = login(host, "front_desk");
  await signIn(page, host.web.replace(/\/$/, ""), username, password, "/desk");

  // First load: a fresh context (empty cache) with the session's cookie.
  const cookies = await context.cookies();
  const cold = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await cold.addCookies(cookies);
  const coldPage = await cold.newPage();
  const cdp = await cold.newCDPSession(coldPage);
  await cdp.send("Network.enable");
  let transferred = 0;
  const requests = new Set();
  cdp.on("Network.requestWillBeSent", (e) => requests.add(e.requestId));
  cdp.on("Network.loadingFinished", (e) => { if (requests.has(e.requestId)) transferred += e.encodedDataLength; });
  await coldPage.goto(host.web.replace(/\/$/, "") + "/desk", { waitUntil: "networkidle" });
  const firstLoadRequests = requests.size;
  await cold.close();

  // Round trips: enter the code and press Enter, until the answer shows.
  await page.waitForFunction(() => Boolean(window.htmx));
  const field = page.getByLabel("Member id or card code");
  const times = [];
  for (let i = 0; i < rounds; i++) {
    await field.fill(card);
    // Timed from the submit to the frame that shows the new answer; the
    // round ends once htmx has settled the page (so that the next submit
    // goes through htmx, not the browser).
    const ms = await page.evaluate(() => new Promise((resolve) => {
      const settled = new Promise((r) => document.addEventListener("htmx:afterSettle", r, { once: true }));
      const start = performance.now();
      const input = document.getElementById("member");
      const before = document.getElementById("answer");
      const done = () => {
        const answer = document.getElementById("answer");
        if (answer && answer !== before && answer.querySelector("h2")) {
          observer.disconnect();
          requestAnimationFrame(() => {
            const elapsed = performance.now() - start;
            settled.then(() => resolve(elapsed));
          });
        }
      };
      const observer = new MutationObserver(done);
      observer.observe(document.body, { childList: true, subtree: true });
      input.form.requestSubmit();
    }));
    times.push(ms);
    const heading = await page.locator("#answer h2").innerText();
    if (!/Eligible/.test(heading)) throw new Error(`round ${i}: the answer is ${heading}`);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  console.log(JSON.stringify({
    bench: "desk_browser",
    rounds,
    round_trip_ms_median: Number(at(0.5).toFixed(1)),
    round_trip_ms_p95: Number(at(0.95).toFixed(1)),
    round_trip_ms_max: Number(times[times.length - 1].toFixed(1)),
    first_load_bytes: transferred,
    first_load_requests: firstLoadRequests,
  }));
} finally {
  await browser.close();
}
