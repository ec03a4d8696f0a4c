/**
 * The web page in a real browser: Debian's chromium, headless, driven by
 * puppeteer-core. A missing chromium fails the test that needs it, with
 * what to install: the page is never left untested in silence.
 *
 * @module
 */

import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { WAIT_MS } from "./_helpers.ts";

/** The browser the tests drive: Debian's chromium package. */
export const CHROMIUM = "/usr/bin/chromium";

/** Where tests keep what a person would look at (screenshots); ignored by git. */
export const ARTIFACTS = new URL("../test-artifacts/", import.meta.url);

/** A headless chromium and its fresh profile; close() ends both. */
export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Starts a headless chromium with a fresh profile (and `args` added); fails,
 * saying what to install, without one.
 */
export async function launchBrowser(args: string[] = []): Promise<TestBrowser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (.ci/install does)`);
  }
  const profile = await Deno.makeTempDir({ prefix: "chat-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    // Without these chromium waits on background connections that a machine
    // without internet refuses, and as root it needs --no-sandbox.
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      // In a container /dev/shm is 64 MB, too small for chromium's shared memory.
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...args,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** Opens the chat page at `url` in a browser context of its own (its own storage). */
export async function openPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(url);
  return page;
}

/** Opens the page and joins as `name`, waiting until the conversation shows. */
export async function joinPage(browser: Browser, url: string, name: string): Promise<Page> {
  const page = await openPage(browser, url);
  await page.locator("#name").fill(name);
  await page.click("#join");
  await page.waitForSelector("#chat-view:not([hidden])");
  return page;
}

/** Waits until a line of the conversation shown contains `text`; returns that line's text. */
export async function waitForLine(page: Page, text: string): Promise<string> {
  // As text: the test's own code is type-checked for Deno, which has no `document`.
  const lines =
    `[...document.querySelectorAll(".log:not([hidden]) li")].map((li) => li.textContent)`;
  try {
    const handle = await page.waitForFunction(
      `${lines}.find((line) => line.includes(${JSON.stringify(text)}))`,
    );
    return String(await handle.jsonValue());
  } catch (error) {
    const shown = await page.evaluate(lines).catch(() => []) as string[];
    throw new Error(
      `no line with ${text} on the page within ${WAIT_MS} ms; it shows:\n${shown.join("\n")}`,
      { cause: error },
    );
  }
}

/** Waits until the page's element `id` shows a text that contains `text`. */
export async function waitForText(page: Page, id: string, text: string): Promise<void> {
  await page.waitForFunction(
    `document.getElementById(${JSON.stringify(id)})?.textContent?.includes(${
      JSON.stringify(text)
    })`,
  );
}

/** Types `text` into the message field and presses Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.locator("#input").fill(text);
  await page.keyboard.press("Enter");
}
