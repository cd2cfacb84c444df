/**
 * Debian's Chromium for the browser tests (test/*.browser.test.ts), driven by playwright-core:
 * where it is, whether it is installed (the reason a test skips, or false) and how it is
 * launched: headless, no sandbox, no GPU, no first-run page, no background requests.
 */
import * as fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type LaunchOptions } from 'playwright-core';

/** The Chromium executable: $CHROMIUM_PATH, or Debian's. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here (node:test's `skip`), or false. */
export const NO_CHROMIUM: string | false = !fs.existsSync(CHROMIUM) && `${CHROMIUM} is not installed (apt-get install chromium)`;

/** The flags every browser test gives Chromium. */
const ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];

/** `extra`: the flags a test adds to ARGS (--disable-component-update, --disable-sync, --disable-quic). */
const launchOptions = (extra: string[]): LaunchOptions => ({ executablePath: CHROMIUM, args: [...ARGS, ...extra] });

/** A headless Chromium with the common flags and `extra`. */
export function launchChromium(extra: string[] = []): Promise<Browser> {
  return chromium.launch(launchOptions(extra));
}

/** A headless Chromium on the profile folder `profile`, with the common flags, `extra`, and the context's `options` (viewport, downloads, …). */
export function launchChromiumProfile(profile: string, extra: string[] = [], options: Parameters<typeof chromium.launchPersistentContext>[1] = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, { ...options, ...launchOptions(extra), headless: true });
}
