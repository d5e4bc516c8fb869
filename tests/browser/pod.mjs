// Drives Debian's chromium (never a downloaded browser) through the simulated ConnectWise
// ticket screen and the orghub pod it frames. Started by `tests/browser.rs`, which sets up
// the server and the simulator and passes their addresses:
//   SCREEN          the simulator's ticket screen framing the pod of ticket 1001
//   FORGED_SCREEN   the same with a forged memberHash
//   SILENT_SCREEN   the same, but ConnectWise never answers
//   UNMAPPED_SCREEN the screen of a ticket whose company is mapped to no organization
//   POD_URL         the pod page itself
//   SHOTS           where screenshots go
// Prints one JSON object; exits non-zero when a check fails.
import { chromium } from "playwright-core";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const SHOTS = env("SHOTS");
const POLICY_DIR = "/etc/chromium/policies/managed";
const POLICY = path.join(POLICY_DIR, "orghub-browser-test.json");
fs.mkdirSync(SHOTS, { recursive: true });

const results = { modes: {}, checks: [], screenshots: [] };
function check(name, ok, detail) {
  results.checks.push({ name, ok: !!ok, detail });
  if (!ok) throw new Error(`check failed: ${name}${detail ? ": " + detail : ""}`);
}
async function shot(page, name, what) {
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file });
  results.screenshots.push({ file, what });
}

async function launch(mode) {
  const args = ["--no-sandbox", "--disable-gpu"];
  if (mode === "partitioned") args.push("--test-third-party-cookie-phaseout");
  if (mode === "blocked") {
    fs.mkdirSync(POLICY_DIR, { recursive: true });
    fs.writeFileSync(POLICY, JSON.stringify({ BlockThirdPartyCookies: true }));
  }
  return chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args });
}

function podFrame(page) {
  return page.frameLocator("#pod").locator("#pod");
}

async function toolboxAndNote(mode) {
  const browser = await launch(mode);
  try {
    const context = await browser.newContext({ viewport: { width: 520, height: 640 } });
    const page = await context.newPage();
    await page.goto(env("SCREEN"));
    const pod = podFrame(page);
    await pod.locator("[data-value=add_note]").waitFor({ timeout: 30000 });
    const text = await pod.innerText();
    check(`${mode}: the toolbox shows the organization`, text.includes("Client A"), text);
    check(`${mode}: the toolbox shows the ticket`, text.includes("Ticket #1001"), text);
    await shot(page, `${mode}-toolbox.png`, `${mode} cookies: signed in, the Toolbox overview with its buttons`);
    const stored = (await context.cookies()).filter((c) => c.name === "orghub_pod");
    results.modes[mode] = { cookieStored: stored.length > 0, partitioned: stored.some((c) => c.partitionKey !== undefined) };
    if (mode === "blocked") {
      // Whatever the browser kept, from here on the pod has no cookie: only its in-memory token.
      await context.clearCookies();
      results.modes[mode].cookieClearedAfterSignIn = true;
    }

    await pod.locator("[data-value=add_note]").click();
    const area = pod.locator("textarea[name=text]");
    await area.waitFor({ timeout: 15000 });
    await shot(page, `${mode}-note-prompt.png`, `${mode} cookies: the Add internal note prompt`);
    await area.fill(`Note from ${mode}`);
    await pod.locator("button[type=submit]").click();
    await pod.locator("#notice", { hasText: "Note added" }).waitFor({ timeout: 15000 });
    await shot(page, `${mode}-note-added.png`, `${mode} cookies: the pod updated by itself after the note landed`);

    const log = JSON.parse((await page.locator("#log").textContent()) || "[]");
    check(`${mode}: the pod said ready first`, log[0] && log[0].message === "ready", JSON.stringify(log));
    check(`${mode}: the pod acknowledged onLoad`, log.some((m) => m.event === "onLoad" && m._id === "evt-1" && m.result === "success" && m.frameID === "frame-1"), JSON.stringify(log));
  } finally {
    await browser.close();
    if (mode === "blocked") fs.rmSync(POLICY, { force: true });
  }
}

async function refusals() {
  const browser = await launch("allowed");
  try {
    const page = await browser.newPage({ viewport: { width: 520, height: 640 } });

    // A forged member hash: ConnectWise does not confirm it; the pod says so.
    await page.goto(env("FORGED_SCREEN"));
    await page.frameLocator("#pod").locator("#pod[data-state=signin-failed]").waitFor({ timeout: 20000 });
    const refused = await podFrame(page).innerText();
    check("a forged memberHash is refused with a message", refused.includes("Sign-in refused"), refused);
    await shot(page, "signin-refused.png", "a forged memberHash: sign-in refused, with the reason");

    // Messages from another origin than ConnectWise's are ignored: posted from the pod's
    // own window (its origin is orghub's), they start no sign-in.
    await page.goto(env("SILENT_SCREEN"));
    const frame = await (await page.locator("#pod").elementHandle()).contentFrame();
    await frame.waitForLoadState();
    await frame.evaluate(() => {
      window.postMessage(JSON.stringify({ MessageFrameID: "forged" }), "*");
      window.postMessage(JSON.stringify({ response: "getmemberauthentication", data: { memberid: "jdoe", memberHash: "x", memberContext: "y" } }), "*");
    });
    await page.waitForTimeout(1500);
    const state = await podFrame(page).getAttribute("data-state");
    const log = JSON.parse((await page.locator("#log").textContent()) || "[]");
    check("a message from a foreign origin is ignored", state === "loading" && log.every((m) => !m.hosted_request), `${state} ${JSON.stringify(log)}`);

    // A site that is not ConnectWise cannot frame the pod (frame-ancestors).
    const server = http.createServer((req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<!doctype html><title>Not ConnectWise</title><iframe id="pod" src="${env("POD_URL")}" width="420" height="300"></iframe>`);
    });
    await new Promise((r) => server.listen(0, "127.0.0.2", r));
    try {
      await page.goto(`http://127.0.0.2:${server.address().port}/`);
      await page.waitForTimeout(1500);
      const framed = await page.frameLocator("#pod").locator("#pod").count();
      check("a foreign site cannot frame the pod", framed === 0, `pod elements: ${framed}`);
      await shot(page, "foreign-frame.png", "the pod framed by a site that is not ConnectWise: blocked by the browser");
    } finally {
      server.close();
    }

    // Opened on its own, the pod says where it belongs.
    await page.goto(env("POD_URL"));
    await page.locator("[data-state=standalone]").waitFor({ timeout: 10000 });
    await shot(page, "standalone.png", "the pod opened outside ConnectWise");

    // An unmapped company: the run fails with what to do, and offers the restart.
    await page.goto(env("UNMAPPED_SCREEN"));
    const pod = podFrame(page);
    await pod.locator("#restart").waitFor({ timeout: 20000 });
    await shot(page, "no-run.png", "a ticket without a run: the start button");
    await pod.locator("#restart").click();
    await pod.locator("#failure").waitFor({ timeout: 20000 });
    const failure = await pod.locator("#failure").innerText();
    check("an unmapped company fails with the message", failure.includes("is not mapped"), failure);
    await shot(page, "unmapped.png", "an unmapped company: the failure says what to map and where; restart offered");
  } finally {
    await browser.close();
  }
}

async function demoPod() {
  // `orghub demo`'s ticket page: the pod loads, signs in, shows the seeded Toolbox run.
  const browser = await launch("allowed");
  try {
    const page = await browser.newPage({ viewport: { width: 520, height: 640 } });
    await page.goto(env("DEMO_SCREEN"));
    const pod = podFrame(page);
    await pod.locator("[data-value=add_note]").waitFor({ timeout: 30000 });
    check("the demo's pod shows the Toolbox", (await pod.innerText()).includes("Ticket #1001"));
    await shot(page, "demo-pod.png", "orghub demo: the pod in the simulated ConnectWise ticket");
  } finally {
    await browser.close();
  }
}

if (process.env.DEMO_SCREEN) {
  try {
    await demoPod();
    console.log(JSON.stringify(results));
  } catch (e) {
    results.error = String(e && e.stack || e);
    console.log(JSON.stringify(results));
    process.exit(1);
  }
  process.exit(0);
}

try {
  for (const mode of ["allowed", "partitioned", "blocked"]) {
    await toolboxAndNote(mode);
  }
  await refusals();
  console.log(JSON.stringify(results));
} catch (e) {
  results.error = String(e && e.stack || e);
  console.log(JSON.stringify(results));
  fs.rmSync(POLICY, { force: true });
  process.exit(1);
}
