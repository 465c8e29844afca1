import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';

/** Debian's Chromium; .ci/run installs it when missing. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where screenshots go (git-ignored). */
export const ARTIFACTS = 'test-artifacts';
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** Launches headless Chromium with a fresh temporary profile and no background traffic. */
export async function launchChromium(): Promise<Browser> {
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

/** An HTTP server on 127.0.0.1:0 whose handler is set later (the app needs the port for PUBLIC_URL). */
export async function startDeferredServer(): Promise<{ server: Server; port: number; use(handler: (req: IncomingMessage, res: ServerResponse) => void): void; close(): Promise<void> }> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    use: (h) => void (handler = h),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Fails with a readable list when axe finds WCAG 2.1 A/AA violations on the page (and its frames). */
export async function assertAccessible(page: Page, what: string, exclude?: string): Promise<void> {
  const builder = new AxeBuilder({ page }).withTags(WCAG_TAGS);
  if (exclude) builder.exclude(exclude);
  const results = await builder.analyze();
  const problems = results.violations.map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(problems, [], `axe violations on ${what}`);
}

/** Fails when the page scrolls horizontally at the current viewport. */
export async function assertNoHorizontalScroll(page: Page, what: string): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(scrollWidth <= clientWidth, `${what} scrolls horizontally: ${scrollWidth} > ${clientWidth}`);
}

/** Accessibility, no horizontal scrolling, one h1, and a full-page screenshot in test-artifacts/. */
export async function checkPage(page: Page, name: string, options: { exclude?: string; fullPage?: boolean } = {}): Promise<void> {
  await assertAccessible(page, name, options.exclude);
  await assertNoHorizontalScroll(page, name);
  assert.equal(await page.locator('h1').count(), 1, `${name} has exactly one h1`);
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: options.fullPage ?? true });
}

/** Presses Tab until the focused element of `frame` (default: the page) matches `selector`; returns the presses. */
export async function tabUntil(page: Page, selector: string, frame: Frame = page.mainFrame(), limit = 25): Promise<number> {
  for (let i = 1; i <= limit; i++) {
    await page.keyboard.press('Tab');
    const hit = await frame.evaluate((sel) => document.hasFocus() && document.activeElement !== null && document.activeElement.matches(sel), selector);
    if (hit) return i;
  }
  throw new Error(`focus never reached ${selector} after ${limit} Tab presses`);
}

/** Fails unless the focused element of `frame` shows a focus indicator (an outline or a box shadow). */
export async function assertFocusVisible(frame: Page | Frame, what: string): Promise<void> {
  const style = await frame.evaluate(() => {
    const el = document.activeElement;
    if (!el) return null;
    const s = getComputedStyle(el);
    return { outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, shadow: s.boxShadow !== 'none' };
  });
  assert.ok(style && (style.outline || style.shadow), `${what} shows no focus indicator`);
}
