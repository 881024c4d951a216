// The residents' chat widget in a real browser: Debian's Chromium driven by playwright-core,
// checked with axe-core in every state, a keyboard-only journey, the live region, reflow at
// 320 CSS px and 400% zoom, Welsh, errors and the brand colour's contrast.
//
// Run by tests/test_browser.py against the real stack (`make run`'s webhook, fakes and simulator
// behind the chat gateway); by hand:
//   TOWNHALL_GATEWAY=http://127.0.0.1:8081/ node --test tests/browser/
// Environment: TOWNHALL_GATEWAY (the gateway's base URL, required), TOWNHALL_TENANT (cardiff),
// TOWNHALL_ARTIFACTS (screenshots and figures, default build/browser), CHROMIUM (/usr/bin/chromium).

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..");
const GATEWAY = process.env.TOWNHALL_GATEWAY;
if (!GATEWAY) throw new Error("set TOWNHALL_GATEWAY to the chat gateway's base URL, e.g. http://127.0.0.1:8081/");
const BASE = GATEWAY.endsWith("/") ? GATEWAY : GATEWAY + "/";
const TENANT = process.env.TOWNHALL_TENANT || "cardiff";
const PAGE = new URL(`demo/${TENANT}`, BASE).href;
const ARTIFACTS = resolve(REPO, process.env.TOWNHALL_ARTIFACTS || "build/browser");
const AXE_PATH = require.resolve("axe-core/axe.min.js");
const AXE = readFileSync(AXE_PATH, "utf8");
const AXE_VERSION = JSON.parse(readFileSync(join(dirname(AXE_PATH), "package.json"), "utf8")).version;
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
// The page's own policy is whatever the gateway sends; every page in these tests is also served
// with this strict one added, so a widget that needed inline script or style would fail here.
const STRICT_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const WAIT = 15000; // the longest any one step waits for the real stack (bounded)

const figures = { axe: {}, axe_version: AXE_VERSION };
let browser;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
  figures.chromium = browser.version();
});

after(async () => {
  if (browser) await browser.close();
  writeFileSync(join(ARTIFACTS, "figures.json"), JSON.stringify(figures, null, 2) + "\n");
  console.log("FIGURES " + JSON.stringify(figures));
});

// Everything the page does is recorded from before its first script runs (init scripts run
// through the DevTools protocol, so the page's CSP does not apply to them).
function recorder() {
  window.__thc = { live: [], csp: [], readyAt: null };
  document.addEventListener("securitypolicyviolation", (e) => {
    window.__thc.csp.push(`${e.violatedDirective} ${e.blockedURI}`);
  });
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === "attributes" && m.target.id === "townhall-chat" && m.target.dataset.state === "ready") {
        if (window.__thc.readyAt === null) window.__thc.readyAt = performance.now();
      }
      for (const n of m.addedNodes) {
        if (n.nodeType === 1 && n.parentElement && n.parentElement.hasAttribute("data-thc-live")) {
          window.__thc.live.push({ kind: n.dataset.kind, lang: n.lang, text: n.textContent });
        }
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
}

async function newPage(options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    reducedMotion: "reduce",
    ...options,
  });
  const requests = [];
  context.on("request", (r) => requests.push(r.url()));
  await context.addInitScript(recorder);
  await context.route(PAGE, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers(), "content-security-policy": STRICT_CSP };
    await route.fulfill({ response, headers });
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(PAGE);
  await page.waitForSelector('#townhall-chat[data-state="ready"]', { state: "attached", timeout: WAIT });
  return { page, context, requests, errors };
}

async function axe(page, state) {
  await page.evaluate(AXE);
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }),
    TAGS,
  );
  const violations = result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    nodes: v.nodes.map((n) => n.target.join(" ")),
  }));
  figures.axe[state] = {
    violations: violations.length,
    passes: result.passes.length,
    incomplete: result.incomplete.map((i) => i.id), // for review by a person: axe could not decide
  };
  assert.deepEqual(violations, [], `axe found violations in state "${state}"`);
}

const active = (page) =>
  page.evaluate(() => {
    const a = document.activeElement;
    return a ? { id: a.id, tag: a.tagName, text: (a.textContent || "").trim(), cls: a.className } : null;
  });

async function tabUntil(page, predicate, { shift = false, max = 40 } = {}) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(shift ? "Shift+Tab" : "Tab");
    const a = await active(page);
    if (a && predicate(a)) return a;
  }
  throw new Error(`no element reached by ${shift ? "Shift+" : ""}Tab within ${max} presses`);
}

const botCount = (page) => page.locator(".thc-msg--bot").count();
async function waitForBot(page, count) {
  await page.waitForFunction((n) => document.querySelectorAll(".thc-msg--bot").length >= n, count, { timeout: WAIT });
  await page.waitForFunction(() => !document.querySelector(".thc-status--shown"), null, { timeout: WAIT });
}
async function type(page, text) {
  const before = await botCount(page);
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
  await waitForBot(page, before + 1);
}
const botAnnouncements = (page) => page.evaluate(() => window.__thc.live.filter((x) => x.kind === "bot"));

function luminance([r, g, b]) {
  const f = (x) => {
    x /= 255;
    return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}
function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}
const parseRgb = (css) => css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);

async function noSideScroll(page, what) {
  const m = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
    panel: (() => {
      const p = document.querySelector(".thc-panel");
      return p && !p.hidden ? { scroll: p.scrollWidth, client: p.clientWidth } : null;
    })(),
  }));
  assert.ok(m.scroll <= m.client, `${what}: the page scrolls sideways (${m.scroll} > ${m.client})`);
  if (m.panel) assert.ok(m.panel.scroll <= m.panel.client, `${what}: the panel scrolls sideways`);
  return m;
}

// Every control in the open panel is reachable, inside the viewport's width and at least 24x24
// (buttons 44x44); text links inside a sentence are exempt (WCAG 2.5.8).
async function controlsFit(page, what) {
  const boxes = await page.evaluate(() =>
    [...document.querySelectorAll("#townhall-chat button, #townhall-chat a.thc-button, #townhall-chat textarea")]
      .filter((e) => e.getClientRects().length)
      .map((e) => {
        const r = e.getBoundingClientRect();
        return { text: (e.textContent || e.id).trim(), left: r.left, right: r.right, width: r.width, height: r.height };
      }),
  );
  const width = await page.evaluate(() => document.documentElement.clientWidth);
  for (const b of boxes) {
    assert.ok(b.left >= -0.5 && b.right <= width + 0.5, `${what}: "${b.text}" is cut off (${b.left}-${b.right} of ${width})`);
    assert.ok(b.width >= 24 && b.height >= 24, `${what}: "${b.text}" is smaller than 24x24 (${b.width}x${b.height})`);
    assert.ok(b.height >= 44, `${what}: "${b.text}" is under 44 px tall (${b.height})`);
  }
  return boxes.length;
}

test("closed: loads under a strict CSP from the gateway alone, interactive quickly, no axe violations", async () => {
  const { page, context, requests, errors } = await newPage();
  try {
    const readyAt = await page.evaluate(() => window.__thc.readyAt);
    figures.time_to_interactive_ms = Math.round(readyAt);
    console.log(`time from navigation start to an interactive widget: ${Math.round(readyAt)} ms`);
    const launcher = page.locator(".thc-launcher");
    assert.equal(await launcher.getAttribute("aria-expanded"), "false");
    assert.equal(await launcher.getAttribute("aria-controls"), "thc-panel");
    assert.ok(await page.locator(".thc-panel").isHidden());
    const origin = new URL(BASE).origin;
    assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin), [], "a request left the gateway's origin");
    assert.ok(requests.some((u) => u.endsWith("/widget/townhall-chat.css")), "the stylesheet was loaded beside the script");
    assert.deepEqual(await page.evaluate(() => window.__thc.csp), [], "the widget broke the Content Security Policy");
    await axe(page, "closed");
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("keyboard only: open, bin collection day through a quick reply, then a person; one announcement per bot message", async () => {
  const { page, context, errors } = await newPage();
  try {
    await tabUntil(page, (a) => a.cls.includes("thc-launcher"));
    await page.keyboard.press("Enter");
    assert.equal(await page.locator(".thc-launcher").getAttribute("aria-expanded"), "true");
    assert.equal((await active(page)).id, "thc-input", "opening puts focus in the message field");
    await waitForBot(page, 1);
    assert.equal((await active(page)).id, "thc-input", "the welcome did not take focus");
    await axe(page, "open");

    await type(page, "bin day for CF24 4HQ");
    assert.equal((await active(page)).id, "thc-input", "a reply never moves focus");
    await page.waitForSelector(".thc-quick button:not([aria-disabled])", { timeout: WAIT });
    await axe(page, "quick replies");
    await page.screenshot({ path: join(ARTIFACTS, "quick-replies-1280.png") });

    // Shift+Tab from the field walks back into the newest message's quick replies
    const first = await page.locator(".thc-quick button:not([aria-disabled])").first().textContent();
    const chosen = await tabUntil(page, (a) => a.text === first, { shift: true, max: 20 });
    const before = await botCount(page);
    await page.keyboard.press("Enter");
    assert.equal((await active(page)).id, "thc-input", "choosing a quick reply puts focus back in the field");
    await waitForBot(page, before + 1);
    const chosenButton = page.locator(".thc-quick button.thc-chosen");
    assert.equal(await chosenButton.getAttribute("aria-disabled"), "true");
    assert.match(await chosenButton.textContent(), /\(chosen\)/);
    const live = await page.evaluate(() => window.__thc.live);
    assert.ok(
      live.some((x) => x.kind === "user" && x.text === `You chose: ${chosen.text}`),
      "the chosen quick reply is announced",
    );
    const answer = await page.locator(".thc-msg--bot").last().textContent();
    assert.match(answer, /goe?s? out on/i, `a collection day is given: ${answer}`);

    // to a person: Tab round to "Talk to a person"; its handoff actions come back as links
    await tabUntil(page, (a) => a.text === "Talk to a person", { max: 60 });
    const n = await botCount(page);
    await page.keyboard.press("Enter");
    await waitForBot(page, n + 1);
    await page.waitForSelector(".thc-handoff a[href^='tel:']", { timeout: WAIT });
    const tel = await tabUntil(page, (a) => a.tag === "A" && a.cls.includes("thc-button") && /call|ffoni/i.test(a.text), {
      max: 60,
    });
    assert.ok(tel, "the phone number is reachable by keyboard");

    // one polite announcement per bot message, none of them the transcript itself
    await page.waitForTimeout(100);
    const spoken = await botAnnouncements(page);
    assert.equal(spoken.length, await botCount(page), "one announcement per bot message");
    figures.announcements = spoken.length;
    assert.equal(await page.locator(".thc-log").getAttribute("aria-live"), null);
    assert.equal(await page.locator("[data-thc-live]").getAttribute("aria-live"), "polite");

    // Escape closes and gives focus back to the launcher
    const kept = await botCount(page);
    await page.keyboard.press("Escape");
    assert.ok(await page.locator(".thc-panel").isHidden());
    assert.ok((await active(page)).cls.includes("thc-launcher"));
    assert.equal(await page.locator(".thc-launcher").getAttribute("aria-expanded"), "false");

    // open again, then Escape from the page behind the docked panel: it closes, focus stays put
    await page.keyboard.press("Enter");
    assert.ok(await page.locator(".thc-panel").isVisible());
    assert.equal(await botCount(page), kept, "closing and opening keeps the conversation");
    await page.locator("main a, main h1").first().evaluate((e) => {
      if (e.tagName !== "A") e.tabIndex = -1;
      e.focus();
    });
    const onPage = await active(page);
    await page.keyboard.press("Escape");
    assert.ok(await page.locator(".thc-panel").isHidden());
    assert.deepEqual(await active(page), onPage, "Escape on the page does not move focus");
    assert.deepEqual(await page.evaluate(() => window.__thc.csp), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("the 256-character limit is shown before sending, and an over-long message is refused in the field", async () => {
  const { page, context } = await newPage();
  try {
    await page.locator(".thc-launcher").click();
    await waitForBot(page, 1);
    const input = page.locator("#thc-input");
    assert.equal(await input.getAttribute("aria-describedby"), "thc-count");
    assert.match(await page.locator("#thc-count").textContent(), /up to 256 characters/);
    await input.fill("a".repeat(250));
    assert.match(await page.locator("#thc-count").textContent(), /You have 6 characters remaining/);
    await input.fill("a".repeat(257));
    assert.match(await page.locator("#thc-count").textContent(), /You have 1 character too many/);
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    assert.equal(await input.getAttribute("aria-describedby"), "thc-error thc-count");
    assert.match(await page.locator("#thc-error").textContent(), /256 characters or fewer/);
    const users = await page.locator(".thc-msg--user").count();
    await input.press("Enter");
    assert.equal(await page.locator(".thc-msg--user").count(), users, "an over-long message is not sent");
    await axe(page, "over the limit");
    await input.fill("");
    await input.press("Enter");
    assert.match(await page.locator("#thc-error").textContent(), /Enter a message/);

    // Start again: a new conversation, its welcome, focus in the field
    await input.fill("when is my bin day");
    await input.press("Enter");
    await waitForBot(page, 2);
    await page.locator(".thc-restart").focus();
    await page.keyboard.press("Enter");
    assert.equal((await active(page)).id, "thc-input");
    await waitForBot(page, 1);
    assert.equal(await page.locator(".thc-msg--user").count(), 0, "the old conversation is gone");
    assert.equal(await page.locator(".thc-msg--bot").count(), 1, "a new welcome");
  } finally {
    await context.close();
  }
});

test("slow and offline: an honest message, and Try again resends the same message", async () => {
  const { page, context } = await newPage();
  try {
    await page.locator(".thc-launcher").click();
    await waitForBot(page, 1);
    const turnUrl = new URL("v1/conversations/turn", BASE).href;
    const sent = [];
    await context.route(turnUrl, (route) => {
      sent.push(route.request().postData());
      return route.abort("internetdisconnected");
    });
    await page.locator("#thc-input").fill("when is my bin day");
    await page.locator("#thc-input").press("Enter");
    await page.waitForSelector(".thc-alert .thc-retry", { timeout: WAIT });
    assert.match(await page.locator(".thc-alert").textContent(), /could not be reached/);
    assert.match(await page.locator(".thc-msg--user").last().textContent(), /Not sent/);
    assert.equal((await active(page)).id, "thc-input", "an error does not take focus");
    await axe(page, "offline");
    await page.screenshot({ path: join(ARTIFACTS, "offline-1280.png") });

    // the gateway comes back but is slow: "still waiting", then the answer
    await context.unroute(turnUrl);
    await context.route(turnUrl, async (route) => {
      sent.push(route.request().postData());
      await new Promise((r) => setTimeout(r, 7000));
      await route.continue();
    });
    const n = await botCount(page);
    await page.locator(".thc-retry").focus();
    await page.keyboard.press("Enter");
    assert.equal((await active(page)).id, "thc-input");
    await page.waitForSelector(".thc-status--shown", { timeout: WAIT });
    assert.match(await page.locator(".thc-status").textContent(), /Still waiting/);
    await waitForBot(page, n + 1);
    assert.equal(sent.length, 2);
    assert.deepEqual(JSON.parse(sent[1]), JSON.parse(sent[0]), "Try again sends the same message");
    assert.deepEqual(JSON.parse(sent[0]), { text: "when is my bin day" });
    assert.equal(await page.locator(".thc-msg--failed").count(), 0);
    assert.equal(await page.locator(".thc-alert").textContent(), "");
  } finally {
    await context.close();
  }
});

test("a refused token is renewed once per message, never in a loop", async () => {
  const { page, context } = await newPage();
  try {
    await page.locator(".thc-launcher").click();
    await waitForBot(page, 1);
    const startUrl = new URL(`v1/councils/${TENANT}/conversations`, BASE).href;
    const turnUrl = new URL("v1/conversations/turn", BASE).href;
    const starts = [];
    const turns = [];
    await context.route(startUrl, (route) => {
      starts.push(route.request().postData());
      return route.continue();
    });
    await context.route(turnUrl, (route) => {
      turns.push(route.request().postData());
      return route.fulfill({
        status: 401,
        contentType: "application/json",
        body: JSON.stringify({ error: "token_invalid", message: "the conversation token was changed" }),
      });
    });
    await page.locator("#thc-input").fill("when is my bin day");
    await page.locator("#thc-input").press("Enter");
    await page.waitForSelector(".thc-alert .thc-retry", { timeout: WAIT });
    assert.equal(turns.length, 2, "the message, then once more with a new conversation's token");
    assert.equal(starts.length, 1, "one new conversation");
    assert.deepEqual(JSON.parse(turns[1]), JSON.parse(turns[0]));
    assert.match(await page.locator(".thc-msg--user").last().textContent(), /Not sent/);
  } finally {
    await context.close();
  }
});

test("Welsh: the switch, the labels and every message's own lang", async () => {
  const { page, context } = await newPage();
  try {
    await page.locator(".thc-launcher").click();
    await waitForBot(page, 1);
    const sw = page.locator(".thc-lang");
    assert.equal(await sw.locator("span").getAttribute("lang"), "cy");
    const n = await botCount(page);
    await sw.focus();
    await page.keyboard.press("Enter");
    await waitForBot(page, n + 1);
    assert.equal(await page.locator("#townhall-chat").getAttribute("lang"), "cy");
    assert.equal((await page.locator(".thc-send").textContent()).trim(), "Anfon");
    assert.equal((await page.locator(".thc-label").textContent()).trim(), "Eich neges");
    assert.equal(await page.locator(".thc-msg--bot").last().getAttribute("lang"), "cy");
    await page.locator("#thc-input").fill("pryd mae fy miniau'n cael eu casglu");
    await page.locator("#thc-input").press("Enter");
    await waitForBot(page, n + 2);
    const langs = await page.locator(".thc-msg").evaluateAll((els) => els.map((e) => e.getAttribute("lang")));
    assert.ok(langs.every((l) => l === "en" || l === "cy"), `every message has its lang: ${langs}`);
    assert.equal(langs[0], "en", "the English welcome stays marked English");
    assert.equal(langs.at(-1), "cy");
    assert.equal(langs.at(-2), "cy", "the resident's Welsh message is marked Welsh");
    const spoken = await botAnnouncements(page);
    assert.equal(spoken.at(-1).lang, "cy", "the announcement is marked Welsh too");
    await axe(page, "welsh");
    await page.screenshot({ path: join(ARTIFACTS, "welsh-1280.png") });
  } finally {
    await context.close();
  }
});

test("reflow at 320 CSS px and at 400% zoom: no sideways scrolling, nothing cut off, focus never covered", async () => {
  const sizes = [
    { name: "320px", viewport: { width: 320, height: 640 }, deviceScaleFactor: 1 },
    // 400% zoom of a 1280x720 window: 320x180 CSS px drawn at 4 device pixels each
    { name: "400pc-zoom", viewport: { width: 320, height: 180 }, deviceScaleFactor: 4 },
  ];
  figures.screenshots = {};
  for (const size of sizes) {
    const { page, context } = await newPage({ viewport: size.viewport, deviceScaleFactor: size.deviceScaleFactor });
    try {
      await noSideScroll(page, `${size.name} closed`);
      await page.locator(".thc-launcher").focus();
      await page.keyboard.press("Enter");
      await waitForBot(page, 1);
      await type(page, "bin day for CF24 4HQ");
      await noSideScroll(page, `${size.name} open`);
      await controlsFit(page, size.name);
      // Tab through the whole panel: each focused control is on screen and not under anything
      for (let i = 0; i < 30; i++) {
        await page.keyboard.press("Tab");
        const seen = await page.evaluate(() => {
          const a = document.activeElement;
          const r = a.getBoundingClientRect();
          const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
          const y = Math.min(Math.max(r.top + Math.min(r.height, 20) / 2, 0), innerHeight - 1);
          const top = document.elementFromPoint(x, y);
          return { text: (a.textContent || a.id).trim().slice(0, 40), visible: a === top || a.contains(top) };
        });
        assert.ok(seen.visible, `${size.name}: focused "${seen.text}" is covered or off screen`);
      }
      const file = join(ARTIFACTS, `open-${size.name}.png`);
      const png = await page.screenshot({ path: file });
      const width = png.readUInt32BE(16);
      figures.screenshots[size.name] = { file: file.slice(REPO.length + 1), png_width: width, css_width: size.viewport.width };
      assert.equal(width, size.viewport.width * size.deviceScaleFactor);
      await axe(page, `reflow ${size.name}`);
    } finally {
      await context.close();
    }
  }
});

test("the council's brand colour keeps 4.5:1 with white text; reduced motion is respected", async () => {
  const configUrl = new URL(`v1/councils/${TENANT}`, BASE).href;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, reducedMotion: "reduce" });
  await context.addInitScript(recorder);
  await context.route(configUrl, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    await route.fulfill({ response, json: { ...body, brand_colour: "#ffdd00" } }); // yellow: fails on white
  });
  try {
    const page = await context.newPage();
    await page.goto(PAGE);
    await page.waitForSelector('#townhall-chat[data-state="ready"]', { state: "attached", timeout: WAIT });
    assert.equal(await page.locator("#townhall-chat").getAttribute("data-brand"), "darker");
    await page.locator(".thc-launcher").click();
    const colours = await page.evaluate(() => {
      const h = getComputedStyle(document.querySelector(".thc-header"));
      const l = getComputedStyle(document.querySelector(".thc-title"));
      return { background: h.backgroundColor, text: l.color, animation: getComputedStyle(document.querySelector(".thc-panel")).animationName };
    });
    const ratio = contrast(parseRgb(colours.background), parseRgb(colours.text));
    figures.brand_contrast_for_ffdd00 = Math.round(ratio * 100) / 100;
    assert.ok(ratio >= 4.5, `header contrast ${ratio} (${colours.background} on ${colours.text})`);
    assert.equal(colours.animation, "none", "no animation when reduced motion is asked for");
  } finally {
    await context.close();
  }
});
