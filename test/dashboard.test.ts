import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../api/app.js';
import type { Database } from '../db/client.js';
import { KpiReport } from '../domain/kpis.js';
import { TEST_KEYS, testAuth } from './support/credentials.js';
import { kpiDatabase, writeKpiFixture } from './support/kpi-fixtures.js';
import { PRODUCTION_POLICY } from './support/orders.js';

/**
 * The dashboard in a real browser: Debian's headless Chromium (`.ci/run` installs it) driven by
 * playwright-core, against the API over the hand-computed KPI fixture. Screenshots land in
 * test/artifacts/ (not committed).
 */
const artifacts = fileURLToPath(new URL('./artifacts/', import.meta.url));
const NOW = new Date('2026-03-20T00:00:00.000Z');

function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (path): path is string => Boolean(path),
  );
  const found = candidates.find((path) => existsSync(path));
  if (found) return found;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('Chromium not found: apt-get install -y chromium (.ci/run does), or set CHROMIUM_PATH');
  }
}

let db: Database;
let server: Server;
let base: string;
let browser: Browser;

beforeAll(async () => {
  db = await kpiDatabase('dashboard');
  await writeKpiFixture(db);
  const app = createApp({
    db,
    temporal: {} as Client,
    auth: testAuth,
    orderPolicy: PRODUCTION_POLICY,
    now: () => NOW,
    log: { error: () => {}, info: () => {} },
  });
  server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await db?.close();
});

const PAGE = '/dashboard?from=2026-03-01&to=2026-03-07&temporalWeb=http://temporal.test:8233';

async function openPage(
  viewport = { width: 1366, height: 900 },
): Promise<{ page: Page; kpiCalls: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport, timezoneId: 'UTC', locale: 'en-US' });
  const page = await context.newPage();
  const kpiCalls: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/reports/kpis')) kpiCalls.push(request.url());
  });
  const failures: string[] = [];
  page.on('pageerror', (error) => failures.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/40[13]/.test(message.text())) failures.push(message.text());
  });
  await page.goto(base + PAGE);
  return {
    page,
    kpiCalls,
    close: async () => {
      expect(failures, 'errors in the page').toEqual([]);
      await context.close();
    },
  };
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.fill('#key', key);
  await page.click('#key-form button[type=submit]');
}

const tile = (page: Page, kpi: string) => page.locator(`.tile[data-kpi="${kpi}"] .value`).innerText();
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)} %`);

/** Non-transparent pixels on a canvas: a chart drew something. */
async function inkedPixels(page: Page, id: string): Promise<number> {
  // A string: the test's TypeScript has no DOM types; this runs in the page.
  return page.evaluate<number>(`(() => {
    const canvas = document.getElementById(${JSON.stringify(id)});
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked += 1;
    return inked;
  })()`);
}

describe('GET /dashboard in headless Chromium', () => {
  it('asks for a key first and shows no data without one', async () => {
    const { page, kpiCalls, close } = await openPage();
    await expect.poll(() => page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('#data').isVisible()).toBe(false);
    expect(await page.locator('.tile').count()).toBe(0);
    expect(kpiCalls).toEqual([]);
    await close();
  });

  it('says why a service or warehouse key gets nothing (403) and keeps asking', async () => {
    const { page, close } = await openPage();
    await signIn(page, TEST_KEYS.service);
    await expect.poll(() => page.locator('#message').innerText()).toContain('403');
    expect(await page.locator('#message').innerText()).toContain('support or admin key');
    expect(await page.locator('#login').isVisible()).toBe(true);
    expect(await page.locator('.tile').count()).toBe(0);
    await signIn(page, 'not-a-key-at-all');
    await expect.poll(() => page.locator('#message').innerText()).toContain('401');
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
    await close();
  });

  it('shows the tiles with the numbers the API returns, draws every chart, links parked orders to Temporal Web', async () => {
    const { page, kpiCalls, close } = await openPage();
    await signIn(page, TEST_KEYS.support);
    await page.waitForSelector('body[data-loaded]');
    // What the page asked for is what it shows: the same report, read here with the same key.
    const url = new URL(kpiCalls.at(-1)!);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      from: '2026-03-01T00:00:00.000Z',
      to: '2026-03-08T00:00:00.000Z',
      tz: 'UTC',
      granularity: 'day',
    });
    const report = KpiReport.parse(
      await (await fetch(url, { headers: { authorization: `Bearer ${TEST_KEYS.support}` } })).json(),
    );

    // The hand-computed figures (test/kpis.test.ts), as the tiles print them.
    expect(await tile(page, 'placed')).toBe('10');
    expect(await tile(page, 'shipped')).toBe('4');
    expect(await tile(page, 'cancelled')).toBe('3');
    expect(await tile(page, 'orderAccuracy')).toBe('75.0 %');
    expect(await tile(page, 'pickingAccuracy')).toBe('50.0 %');
    expect(await tile(page, 'perfectOrderRate')).toBe('25.0 %');
    expect(await tile(page, 'onTimeDeliveryRate')).toBe('50.0 %');
    expect(await tile(page, 'cancellationRate')).toBe('30.0 %');
    expect(await tile(page, 'returnRate')).toBe('25.0 %');
    expect(await tile(page, 'exceptionsPer100')).toBe('25.0');
    expect(await tile(page, 'processingHoursP90')).toBe('11.0 h / 16.2 h');
    expect(await tile(page, 'leadTimeHoursP90')).toBe('66.0 h / 126.0 h');
    expect(await tile(page, 'refunded')).toBe('61.00 USD');
    expect(await tile(page, 'needsAttention')).toBe('1');
    // And every rate tile equals the API's figure.
    for (const kpi of [
      'orderAccuracy',
      'pickingAccuracy',
      'perfectOrderRate',
      'onTimeDeliveryRate',
      'cancellationRate',
      'returnRate',
    ] as const) {
      expect(await tile(page, kpi), kpi).toBe(pct(report.totals[kpi]));
    }
    // Against target: accuracy 75 % misses 99 %, so its tile is marked bad.
    expect(await page.locator('.tile[data-kpi="orderAccuracy"]').getAttribute('class')).toContain('bad');
    expect(await page.locator('.tile[data-kpi="orderAccuracy"] .target').innerText()).toBe('target ≥ 99.0 %');

    for (const chart of ['chart-orders', 'chart-quality', 'chart-times', 'chart-returns', 'chart-cancellations']) {
      expect(await inkedPixels(page, chart), `${chart} is blank`).toBeGreaterThan(500);
    }
    const link = page.locator('#attention a');
    expect(await link.innerText()).toBe('kpi-l');
    expect(await link.getAttribute('href')).toBe('http://temporal.test:8233/namespaces/default/workflows/order-kpi-l');
    expect(await page.locator('#cancel-reasons tbody').innerText()).toContain('customer changed their mind');
    expect(await page.locator('#skus tbody tr').count()).toBe(4);
    await page.screenshot({ path: `${artifacts}dashboard.png`, fullPage: true });

    // The filters ask the API again: marketplace alone is kpi-c.
    await page.selectOption('#channel', 'marketplace');
    const loaded = await page.getAttribute('body', 'data-loaded');
    await page.click('#filters button[type=submit]');
    await expect.poll(() => page.getAttribute('body', 'data-loaded')).not.toBe(loaded);
    expect(await tile(page, 'placed')).toBe('1');
    expect(new URL(kpiCalls.at(-1)!).searchParams.get('channel')).toBe('marketplace');

    // The key stays for the tab: a reload shows data again without asking; forgetting it asks.
    await page.reload();
    await page.waitForSelector('body[data-loaded]');
    expect(await page.locator('#login').isVisible()).toBe(false);
    await page.click('#forget');
    expect(await page.locator('#login').isVisible()).toBe(true);
    await close();
  });

  it('fits a phone screen', async () => {
    const { page, close } = await openPage({ width: 390, height: 844 });
    await signIn(page, TEST_KEYS.admin);
    await page.waitForSelector('body[data-loaded]');
    expect(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    expect(await inkedPixels(page, 'chart-orders')).toBeGreaterThan(500);
    await page.screenshot({ path: `${artifacts}dashboard-phone.png`, fullPage: true });
    await close();
  });
});
