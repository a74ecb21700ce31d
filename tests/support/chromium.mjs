// Headless Chromium as every browser driver of the project starts it
// (tests/npm, tests/web and the benchmark's page driver, each of which gets
// a copy of this file): Debian's chromium unless MPWASM_CHROMIUM names
// another, with the flags a sandboxed machine without GPU or outside network
// needs.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchChromium(executablePath = process.env.MPWASM_CHROMIUM ?? "/usr/bin/chromium") {
  if (!existsSync(executablePath)) {
    throw new Error(`no Chromium at ${executablePath}: install it with \`apt-get install -y chromium\``);
  }
  return chromium.launch({ executablePath, headless: true, args: ARGS });
}
