// The benchmark's page driver (xtask/src/bench/web.rs): loads the playground
// in headless Chromium, each time in a fresh context (empty HTTP cache and
// storage), clicks Run as soon as the page's scripts have run, with the
// program `print(1)` in the link, and reads the page's performance marks.
// Then runs `while True: pass`, presses Stop and times Stop to idle (a new
// interpreter ready). Prints one JSON object.
//
// usage: node web-page.mjs URL LOADS CHROMIUM
import { launchChromium } from "./chromium.mjs";

const [url, loads, executablePath] = process.argv.slice(2);
const origin = new URL(url).origin;
const browser = await launchChromium(executablePath);
const result = { chromium: browser.version(), requests: [], loads: [], stops: [], lag_ms: [] };
const requests = new Set();
const offsite = [];

try {
  for (let i = 0; i < Number(loads); i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("request", (request) => {
      const target = request.url();
      if (target.startsWith(origin)) requests.add(new URL(target).pathname);
      else if (!target.startsWith("data:")) offsite.push(target);
    });
    await page.addInitScript(() =>
      document.addEventListener("DOMContentLoaded", () => document.getElementById("run").click()),
    );
    await page.goto(`${url}#code=${Buffer.from("print(1)").toString("base64url")}`);
    await page.waitForFunction(() => performance.getEntriesByName("playground:run-end").length, null, { timeout: 60000 });
    const load = await page.evaluate(() => {
      const at = (name) => performance.getEntriesByName(name)[0]?.startTime;
      return {
        dom_content_loaded_ms: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
        ready_ms: at("playground:ready"),
        first_run_ms: at("playground:run-end"),
        output: document.getElementById("output").textContent,
      };
    });
    if (!load.output.startsWith("1\n")) throw new Error(`print(1) printed ${JSON.stringify(load.output)}`);
    delete load.output;
    result.loads.push(load);

    await page.fill("#editor textarea", "while True:\n    pass");
    await page.click("#run");
    await page.waitForSelector('#status[data-state="running"]');
    // How late a 10 ms timer fires in the page while Python spins.
    result.lag_ms.push(
      await page.evaluate(async () => {
        let worst = 0;
        for (let n = 0; n < 10; n++) {
          const start = performance.now();
          await new Promise((resolve) => setTimeout(resolve, 10));
          worst = Math.max(worst, performance.now() - start - 10);
        }
        return worst;
      }),
    );
    await page.click("#stop");
    await page.waitForSelector('#status[data-state="stopped"]', { state: "attached" });
    result.stops.push(
      await page.evaluate(
        () => performance.getEntriesByName("playground:idle")[0].startTime - performance.getEntriesByName("playground:stop")[0].startTime,
      ),
    );
    await context.close();
  }
} finally {
  await browser.close();
}
if (offsite.length) throw new Error(`the page fetched from elsewhere: ${offsite.join(", ")}`);
result.requests = [...requests].sort();
console.log(JSON.stringify(result));
