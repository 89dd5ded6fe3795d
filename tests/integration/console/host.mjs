// A console login in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// that starts under another name of the host than console_public_url: test_console_host.py
// opens OPEN_URL (http://localhost:<port>/console/...) while cavra is configured with
// http://127.0.0.1:<port>.  Cookies belong to the name the browser used, so the login must move
// to the configured name before its pre-login cookie is set.
//
// Environment: OPEN_URL (the page to open first), CAVRA_URL (console_public_url), LOGIN_USER
// (a persona of the test provider), CHROMIUM.  Prints one JSON line, "result {...}": where the
// browser ended, what the page showed, GET /auth/whoami from the page, and the cookies by host.
import { chromium } from 'playwright-core';

const OPEN = process.env.OPEN_URL;
const BASE = (process.env.CAVRA_URL || '').replace(/\/+$/, '');
const USER = process.env.LOGIN_USER || 'operator';
const TIMEOUT = 10_000;

async function run(page) {
  await page.goto(OPEN);
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', USER);
  await page.fill('input[name=password]', 'any-password');
  // the provider sends the browser to the callback, which answers a page or a 403
  await Promise.all([
    page.waitForURL((u) => u.pathname.startsWith('/console/') && !u.href.includes('/console/login'),
      { waitUntil: 'load' }),
    page.click('button[type=submit]')]);
  await page.waitForSelector('body[data-ready]', { timeout: 5000 }).catch(() => {});
  const who = await page.evaluate(async () => {
    const r = await fetch('/auth/whoami', { credentials: 'same-origin' });
    return { status: r.status, body: await r.text() };
  });
  return { url: page.url(), text: (await page.textContent('body')).slice(0, 2000), who };
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const ctx = await browser.newContext();
    ctx.setDefaultTimeout(TIMEOUT);
    // nothing leaves the machine (the provider's pages load web fonts)
    await ctx.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/]|\[::1\][:/])/, (r) => r.abort());
    const page = await ctx.newPage();
    const out = await run(page);
    out.cookies = (await ctx.cookies()).map((c) => ({ name: c.name, domain: c.domain }));
    out.base = BASE;
    console.log(`result ${JSON.stringify(out)}`);
  } finally {
    await browser.close().catch(() => {});
  }
}

main().catch((e) => {
  console.error(`host.mjs: ${e.stack || e}`);
  process.exit(1);
});
