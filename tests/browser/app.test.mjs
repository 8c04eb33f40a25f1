// asklake's web app in Debian's headless Chromium, driven by playwright-core. Run by tests/cli/browser.rs,
// which starts `asklake serve` (with a token, over the loopback fake Bedrock) and passes its address.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.ASKLAKE_URL;
const TOKEN = process.env.ASKLAKE_TOKEN;
const CT2 = process.env.ASKLAKE_CT2;
const SHOTS = process.env.ASKLAKE_SCREENSHOTS;
const WAIT = { timeout: 30_000 };

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.ASKLAKE_CHROMIUM ?? "/usr/bin/chromium",
    // The machine's network is closed: no background connections, updates or sync.
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});
after(async () => browser?.close());

/** A fresh page at 1280×800 with the token in the fragment; collects script errors and CSP reports. */
async function open(path = "/") {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("dialog", (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(`${BASE}${path}#token=${TOKEN}`);
  return { page, context, problems };
}

/** Ends a test: no payload ran, and no script error or console error but the `expected` ones. */
async function done({ page, context, problems }, shot, expected = []) {
  if (shot) await page.screenshot({ path: join(SHOTS, shot), fullPage: false });
  assert.equal(await page.evaluate(() => window.__xss), undefined, "a payload ran");
  assert.deepEqual(problems.filter((p) => !expected.some((e) => e.test(p))), []);
  await context.close();
}

async function ask(page, question) {
  const box = page.getByTestId("question");
  await box.fill(question);
  await box.press("Enter");
  const turn = page.getByTestId("turn").last();
  await turn.getByTestId("answer-meta").waitFor(WAIT);
  return turn;
}

/** The text of every cell of a turn's result table, row by row. */
async function cells(turn) {
  return turn.getByTestId("result-table").locator("tbody tr").evaluateAll((rows) =>
    rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)),
  );
}

async function setSql(page, turn, sql) {
  const editor = turn.locator(".cm-content");
  await editor.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Delete");
  await editor.pressSequentially(sql, { delay: 0 });
}

test("the token moves from the fragment into memory, and the page needs it", async () => {
  const s = await open();
  assert.equal(new URL(s.page.url()).hash, "", "the token stays in the address bar");
  await s.page.getByTestId("health").filter({ hasText: "bedrock" }).waitFor(WAIT);
  const stored = await s.page.evaluate(() => document.cookie + JSON.stringify(localStorage) + JSON.stringify(sessionStorage));
  assert.ok(!stored.includes(TOKEN), stored);
  await s.context.close();

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${BASE}/`);
  await page.getByRole("alert").filter({ hasText: "token" }).waitFor(WAIT);
  await context.close();
});

test("ask: SQL, table, chart, explanation and where the answer came from; then a follow-up", async () => {
  const s = await open();
  const turn = await ask(s.page, "Top source IPs by number of API calls over the past week");
  const sqlText = await turn.locator(".cm-content").textContent();
  assert.match(sqlText, /count\(\*\)/i);
  assert.match(sqlText, /src_endpoint\.ip/);
  const rows = await cells(turn);
  assert.ok(rows.length >= 2 && rows.length <= 5, JSON.stringify(rows));
  assert.match(rows[0][0], /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(await turn.getByTestId("chart").getAttribute("data-kind"), "bar");
  await turn.getByTestId("explanation").filter({ hasText: "busiest source IPs" }).waitFor(WAIT);
  const meta = await turn.getByTestId("answer-meta").textContent();
  assert.match(meta, /LLM/);
  assert.match(meta, /haiku/i);
  assert.match(meta, /\d+ in \/ \d+ out/);

  await s.page.evaluate(() => document.querySelector(".conversation").scrollTo(0, 0));
  await s.page.screenshot({ path: join(SHOTS, "ask.png") });

  // The column header sorts; a second click reverses.
  await turn.locator("th").nth(1).click();
  const asc = (await cells(turn)).map((r) => Number(r[1]));
  assert.deepEqual(asc, [...asc].sort((a, b) => a - b));

  // A follow-up in the same conversation: the model sees the earlier question (the fake refuses without).
  const follow = await ask(s.page, "Only the top 2 of those");
  assert.equal((await cells(follow)).length, 2);
  assert.equal(await s.page.getByTestId("turn").count(), 2);
  await done(s, "ask-and-follow-up.png");
});

test("edit and re-run SQL with Ctrl-Enter; a write is refused by the guard", async () => {
  const s = await open();
  const turn = await ask(s.page, "Top source IPs by number of API calls over the past week");
  await setSql(
    s.page,
    turn,
    `SELECT src_endpoint.ip, count(*) AS calls FROM ${CT2} GROUP BY 1 ORDER BY 2 DESC LIMIT 3`,
  );
  await s.page.keyboard.press("Control+Enter");
  await turn.getByTestId("row-count").filter({ hasText: "3 rows" }).waitFor(WAIT);
  await turn.getByText("edited query").waitFor(WAIT);

  await setSql(s.page, turn, `DELETE FROM ${CT2}`);
  await turn.getByRole("button", { name: "Run ▸" }).click();
  const error = await turn.getByTestId("error").textContent(WAIT);
  assert.match(error, /guard/);
  // The browser logs the refused request (HTTP 400) itself.
  await done(s, "edit-and-guard.png", [/status of 400/]);
});

test("deep links: ?sql= opens the editor and runs it (time buckets chart as a line); ?q= asks", async () => {
  const sql = `SELECT date_trunc('hour', time_dt) AS hour, count(*) AS calls FROM ${CT2} GROUP BY 1 ORDER BY 1`;
  const s = await open(`/?sql=${encodeURIComponent(sql)}`);
  const turn = s.page.getByTestId("turn").first();
  await turn.getByTestId("result-table").waitFor(WAIT);
  assert.equal(await turn.getByTestId("chart").getAttribute("data-kind"), "line");
  assert.match(await turn.locator(".cm-content").textContent(), /date_trunc/);
  // Switch the chart to bars, then off.
  await turn.getByLabel("bar").check();
  assert.equal(await turn.getByTestId("chart").getAttribute("data-kind"), "bar");
  await turn.getByLabel("off").check();
  assert.equal(await turn.getByTestId("chart").count(), 0);
  await turn.getByLabel("auto").check();
  await done(s, "deep-link-sql.png");

  const q = await open(`/?q=${encodeURIComponent("Top source IPs by number of API calls over the past week")}`);
  const asked = q.page.getByTestId("turn").first();
  await asked.getByTestId("answer-meta").waitFor(WAIT);
  assert.ok((await cells(asked)).length >= 2);
  await done(q);
});

test("an XSS payload in result data and in the explanation is shown as text and never runs", async () => {
  const s = await open();
  const turn = await ask(s.page, "Show the planted payload");
  const rows = await cells(turn);
  assert.deepEqual(rows[0], [process.env.XSS_CELL, process.env.XSS_CELL2, "1"]);
  assert.equal(await turn.locator("table img, table script, table b").count(), 0);
  await turn.getByTestId("explanation").waitFor(WAIT);
  assert.equal(await turn.getByTestId("explanation").textContent(), process.env.XSS_EXPLANATION);
  assert.equal(await s.page.locator(".explanation img, .explanation b").count(), 0);
  // Give any handler that might have been planted a moment to fire.
  await s.page.waitForTimeout(300);
  await done(s, "xss-as-text.png");
});

test("verified ✓ promotes an answer; the library finds it; the schema browser shows nested columns", async () => {
  const s = await open();
  const turn = await ask(s.page, "Busiest source IPs across all recorded API calls");
  await turn.getByRole("button", { name: "Verified ✓" }).click();
  await turn.getByRole("button", { name: /Verified ✓ \(/ }).waitFor(WAIT);

  await s.page.getByRole("tab", { name: "Library" }).click();
  await s.page.getByLabel("Search the library").fill("Busiest source IPs across all recorded API calls");
  await s.page.getByRole("button", { name: "Search" }).click();
  await s.page.getByTestId("library").getByText("Busiest source IPs across all recorded API calls").first().waitFor(WAIT);

  await s.page.getByRole("tab", { name: "Schema" }).click();
  await s.page.getByTestId("schema").getByRole("button", { name: CT2 }).click();
  const schema = s.page.getByTestId("schema");
  await schema.locator("summary", { hasText: "src_endpoint" }).first().click();
  await schema.getByText("ip", { exact: true }).first().waitFor(WAIT);

  await s.page.getByRole("tab", { name: "History" }).click();
  await s.page.getByTestId("history").getByText("Busiest source IPs across all recorded API calls").first().waitFor(WAIT);
  await done(s, "library-and-schema.png");
});
