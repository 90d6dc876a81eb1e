// Browser end-to-end test: the original's test is a browser console doing
// `new WebSocket("ws://…:4236")`. Here headless Chromium opens the server's own
// /demo page, which connects the same way, and the test publishes through the
// HTTP API: a broadcast, a targeted push (worker id + connection id from the
// welcome) and the demo page's Publish button.
//
// Run with tests/browser/run.sh (installs chromium and playwright-core first).
// Env: PUSHER_BIN (default ./pusher, relative to the working directory).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { WAIT_MS, bin, freePort, launchBrowser, run } from './support.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WELCOME = /^workerID:(\d+) connectionID:(\d+) connected\n$/;

// A port the kernel just handed out and nobody holds now.

async function waitHealthy(url, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  let last = 'no answer';
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      last = `${r.status} ${(await r.text()).trim()}`;
      if (r.status === 200) return;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    if (Date.now() > deadline) throw new Error(`/healthz not 200 after ${deadlineMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The page's record of every WebSocket message, in order.
const received = (page) => page.evaluate(() => window.received);
const waitReceived = (page, text) =>
  page.waitForFunction((t) => window.received.includes(t), text, { timeout: WAIT_MS });

describe('demo page in headless Chromium', () => {
  let dir, config, http, ws, context, page, other;
  let started = false;
  const pageErrors = [];
  const serverLog = () => readFile(path.join(dir, 'pusher.log'), 'utf8').catch(() => '(no log)');

  async function publish(query) {
    const r = await fetch(`${http}/?${new URLSearchParams(query)}`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'ok');
  }

  async function openDemo() {
    const p = await context.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    p.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await p.goto(`${http}/demo?ws_port=${ws}`);
    await p.waitForFunction(() => window.received.length > 0, null, { timeout: WAIT_MS });
    const [welcome] = await received(p);
    const m = WELCOME.exec(welcome);
    assert.ok(m, `first message is the welcome, got ${JSON.stringify(welcome)}`);
    return { page: p, worker: m[1], connection: m[2] };
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pusher-browser-'));
    const [channelPort, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    ws = wsPort;
    http = `http://127.0.0.1:${httpPort}`;
    config = path.join(dir, 'pusher.json');
    await writeFile(config, JSON.stringify({
      node_name: `browser-${wsPort}`,
      channel: `127.0.0.1:${channelPort}`,
      pid_file: path.join(dir, 'pusher.pid'),
      log_file: path.join(dir, 'pusher.log'),
      stats_file: path.join(dir, 'pusher.stats'),
      graceful_timeout: 3,
      services: [
        { type: 'channel', listen: `127.0.0.1:${channelPort}` },
        { type: 'websocket', listen: `127.0.0.1:${wsPort}`, count: 2 },
        { type: 'http', listen: `127.0.0.1:${httpPort}` },
      ],
    }, null, 1));
    try {
      await run(bin, ['start', '-d', '-q', '-c', config], { timeout: WAIT_MS });
      started = true;
      await waitHealthy(`${http}/healthz`, WAIT_MS);
    } catch (e) {
      e.message += `\n--- pusher.log ---\n${await serverLog()}`;
      throw e;
    }

    // A fresh profile in the temp dir; Debian's chromium, never a downloaded build.
    context = await launchBrowser(chromium, path.join(dir, 'profile'), [],
      { viewport: { width: 900, height: 640 } });
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (config) {
      // Stop even after a failed start: a start -d that timed out may have left workers.
      const stop = await run(bin, ['stop', '-q', '-c', config], { timeout: 15_000 }).catch((e) => e);
      if (started && stop instanceof Error) {
        console.error(`pusher stop failed: ${stop.message}\n--- pusher.log ---\n${await serverLog()}`);
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gets the welcome on connect', async () => {
    const me = await openDemo();
    page = me.page;
    other = await openDemo();
    // The page shows who it is, in the form its "to" field takes.
    assert.equal(await page.locator('#state').textContent(), `open, you are ${me.worker}/${me.connection}`);
  });

  it('receives a broadcast published through the HTTP API', async () => {
    const text = `broadcast ${Date.now()}`;
    await publish({ content: text });
    await waitReceived(page, text);
    await waitReceived(other.page, text);
  });

  it('receives a push targeted at its worker id and connection id', async () => {
    const [welcome] = await received(page);
    const [, worker, connection] = WELCOME.exec(welcome);
    const text = `only for ${worker}/${connection}`;
    await publish({ to_worker_id: worker, to_connection_id: connection, content: text });
    await waitReceived(page, text);
    // The other page gets a later broadcast (same bus stream, so in order) but
    // never the targeted push.
    const marker = `after targeted ${Date.now()}`;
    await publish({ content: marker });
    await waitReceived(other.page, marker);
    assert.ok(!(await received(other.page)).includes(text), 'targeted push reached another client');
  });

  it('publishes from the page with the Publish button', async () => {
    const text = `from the button ${Date.now()}`;
    await page.bringToFront(); // a background tab's animation frames are throttled to ~1/s
    await page.fill('#content', text);
    await page.click('#send');
    await waitReceived(page, text);
    await waitReceived(other.page, text);
  });

  it('publishes to one client with the Publish button and a worker/connection target', async () => {
    const text = `button to ${other.worker}/${other.connection}`;
    await page.fill('#content', text);
    await page.fill('#to', `${other.worker}/${other.connection}`);
    await page.click('#send');
    await waitReceived(other.page, text);
    // The page's own fetch answered before this broadcast was published: in order on the bus.
    await page.waitForFunction(() => document.getElementById('log').textContent.includes('to_worker_id'));
    const marker = `after button target ${Date.now()}`;
    await publish({ content: marker });
    await waitReceived(page, marker);
    assert.ok(!(await received(page)).includes(text), 'targeted push reached the publishing page');
    await mkdir(path.join(repo, 'build'), { recursive: true });
    await page.screenshot({ path: path.join(repo, 'build/browser-demo.png'), fullPage: true });
  });

  it('stays open after a publish of bytes that are not UTF-8 was refused', async () => {
    // Sent as a text frame, such bytes would make the browser fail the connection.
    const r = await fetch(`${http}/?content=%FF%FE`);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /content is not valid UTF-8/);
    const text = `after refused bytes ${Date.now()}`;
    await publish({ content: text });
    await waitReceived(page, text);
    await waitReceived(other.page, text);
    assert.match(await page.locator('#state').textContent(), /^open/);
  });

  it('logs no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
