// A headless Debian chromium, driven by playwright-core, that takes one JSON
// command per line on stdin and answers one JSON line on stdout:
//   {"op": "goto", "url"}            {"op": "fill", "sel", "value"}
//   {"op": "click", "sel"}           {"op": "waitText", "sel", "text", "timeout"}
//   {"op": "text", "sel"}            {"op": "quit"}
//   {"op": "addScript", "path"}      {"op": "eval", "js"} (its value, awaited)
//   {"op": "console"} (the page's console lines so far)
//   {"op": "waitFor", "js", "timeout"} (until the expression is truthy)
// Answers are {"ok": true, ...} or {"ok": false, "error"}. Every wait is
// bounded by its timeout (ms, default 10000).
import { chromium } from "playwright-core";
import readline from "node:readline";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", ...fakeAudio()],
});

// A fake microphone, allowed without asking (pages call getUserMedia before
// their INVITE). DIALTONE_FAKE_AUDIO=path.wav: it plays that file in a loop,
// and WebRTC candidates keep their loopback addresses.
function fakeAudio() {
  const always = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];
  const file = process.env.DIALTONE_FAKE_AUDIO;
  if (!file) return always;
  return [
    ...always,
    `--use-file-for-fake-audio-capture=${file}`,
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--disable-background-networking",
  ];
}
const page = await browser.newPage();
const errors = [];
page.on("pageerror", (e) => errors.push(String(e)));
const consoleLines = [];
page.on("console", (m) => { if (consoleLines.length < 500) consoleLines.push(m.text()); });

async function run(c) {
  const timeout = c.timeout ?? 10000;
  switch (c.op) {
    case "goto":
      await page.goto(c.url, { timeout });
      return {};
    case "fill":
      await page.fill(c.sel, c.value, { timeout });
      return {};
    case "click":
      await page.click(c.sel, { timeout });
      return {};
    case "waitText":
      await page.waitForFunction(
        ([sel, text]) => [...document.querySelectorAll(sel)].some((e) => e.textContent.trim() === text),
        [c.sel, c.text],
        { timeout },
      );
      return {};
    case "text":
      return { text: await page.textContent(c.sel, { timeout }) };
    case "addScript":
      await page.addScriptTag({ path: c.path });
      return {};
    case "eval":
      return { value: await page.evaluate(c.js) };
    case "waitFor": {
      // Polled with evaluate: waitForFunction compiles the expression in the
      // page, which a Content-Security-Policy without 'unsafe-eval' forbids.
      const deadline = Date.now() + timeout;
      while (!(await page.evaluate(c.js))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${c.js}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return {};
    }
    case "console":
      return { lines: consoleLines };
    case "quit":
      return {};
    default:
      throw new Error("unknown op " + c.op);
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  let c;
  try {
    c = JSON.parse(line);
    const result = await run(c);
    process.stdout.write(JSON.stringify({ ok: true, pageErrors: errors, ...result }) + "\n");
  } catch (e) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(e), pageErrors: errors }) + "\n");
  }
  if (c && c.op === "quit") break;
}
lines.close();
await browser.close();
process.exit(0);
