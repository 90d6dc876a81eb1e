// The browser client, client/pusher.js (issue #14), in headless Chromium: the
// /demo page built on it connects and shows the welcome; it comes back after
// the server is stopped and started again and gets what is published then;
// and, on pages that import the module themselves, its back-off (the delays it
// draws, the attempts the page actually makes), the token function called
// before every attempt, and close() for good.
//
// Run with tests/browser/run.sh (installs chromium and playwright-core first).
// Env: PUSHER_BIN (default ./pusher, relative to the working directory).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { WAIT_MS, bin, freePort, launchBrowser, run, until } from './support.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WELCOME = /^workerID:(\d+) connectionID:(\d+) connected\n$/;
const SLACK_MS = 600; // a timer on two busy shared cores fires late, never early

// In the page: every WebSocket the page constructs, with its time and URL,
// and whether it opened. Installed before the module runs.
function countSockets() {
  window.attempts = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      const rec = { t: performance.now(), url: String(url), opened: false };
      window.attempts.push(rec);
      super(url, protocols);
      this.addEventListener('open', () => { rec.opened = true; });
    }
  };
}

// A WebSocket server that completes every handshake and closes the socket
// at once, before any welcome: what a broken proxy or an overloaded server
// does. The client must keep backing off, not start over.
function rudeServer() {
  return new Promise((resolve) => {
    const server = createServer((s) => {
      let head = '';
      s.on('data', (d) => {
        head += d;
        const key = /Sec-WebSocket-Key: *(\S+)/i.exec(head);
        if (!head.includes('\r\n\r\n') || !key) return;
        const accept = createHash('sha1').update(key[1] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        s.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      });
      s.on('error', () => {});
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

describe('browser client (client/pusher.js) in headless Chromium', () => {
  let dir, config, http, ws, context, demo, rude;
  let started = false;
  const pageErrors = [];
  const serverLog = () => readFile(path.join(dir, 'pusher.log'), 'utf8').catch(() => '(no log)');

  async function healthy() {
    await until('/healthz 200', async () => (await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(1000) })).status === 200);
  }

  async function start() {
    try {
      await run(bin, ['start', '-d', '-q', '-c', config], { timeout: WAIT_MS });
      started = true;
      await healthy();
    } catch (e) {
      e.message += `\n--- pusher.log ---\n${await serverLog()}`;
      throw e;
    }
  }

  async function publish(query) {
    const r = await fetch(`${http}/?${new URLSearchParams(query)}`);
    assert.equal(await r.text(), 'ok');
  }

  const welcomes = (page) => page.evaluate(() => window.received.filter((m) => /^workerID:/.test(m)).length);

  // A page of this server's origin with the module imported and WebSocket counted.
  async function modulePage() {
    const p = await context.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.addInitScript(countSockets);
    await p.goto(`${http}/healthz`);
    await p.evaluate(async () => { window.PusherClient = (await import('/client/pusher.js')).PusherClient; });
    await p.bringToFront();
    return p;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pusher-client-'));
    const [channelPort, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    ws = wsPort;
    http = `http://127.0.0.1:${httpPort}`;
    config = path.join(dir, 'pusher.json');
    await writeFile(config, JSON.stringify({
      node_name: `client-${wsPort}`,
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
    await start();
    rude = await rudeServer();
    // Timing is measured: no throttling of timers in pages that are not in front.
    context = await launchBrowser(chromium, path.join(dir, 'profile'),
      ['--disable-background-timer-throttling', '--disable-renderer-backgrounding']);
  });

  after(async () => {
    await context?.close().catch(() => {});
    rude?.close();
    if (config) {
      const stop = await run(bin, ['stop', '-q', '-c', config], { timeout: 15_000 }).catch((e) => e);
      if (started && stop instanceof Error) {
        console.error(`pusher stop failed: ${stop.message}\n--- pusher.log ---\n${await serverLog()}`);
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the module byte for byte as JavaScript', async () => {
    const r = await fetch(`${http}/client/pusher.js`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/javascript;charset=utf-8');
    assert.equal(await r.text(), await readFile(path.join(repo, 'client/pusher.js'), 'utf8'));
  });

  it('/demo connects through the module and shows the welcome', async () => {
    demo = await context.newPage();
    demo.on('pageerror', (e) => pageErrors.push(e.message));
    // Chromium logs every failed WebSocket attempt as a console error; the
    // page goes through a server restart below, where an attempt may be
    // refused or reset: that is the client's business (it backs off), not a
    // page error. Every other console error counts.
    const attemptFailed = /^WebSocket connection to '.*' failed: /;
    demo.on('console', (m) => m.type() === 'error' && !attemptFailed.test(m.text()) && pageErrors.push(m.text()));
    await demo.addInitScript(countSockets);
    await demo.goto(`${http}/demo?ws_port=${ws}`);
    await demo.waitForFunction(() => window.received.length > 0);
    const [welcome] = await demo.evaluate(() => window.received);
    const m = WELCOME.exec(welcome);
    assert.ok(m, `first message is the welcome, got ${JSON.stringify(welcome)}`);
    assert.equal(await demo.locator('#state').textContent(), `open, you are ${m[1]}/${m[2]}`);
    assert.deepEqual(await demo.evaluate(() => [window.pusher.state, window.pusher.clientId, window.pusher.welcome]),
      ['open', null, { type: 'welcome', worker_id: +m[1], connection_id: +m[2], client_id: null }]);
    // No ?token= on the page: none in the socket's URL.
    assert.deepEqual(await demo.evaluate(() => window.attempts.map((a) => a.url)), [`ws://127.0.0.1:${ws}/`]);
  });

  it('reconnects after the server was stopped and started, and gets a broadcast published then', async () => {
    await demo.bringToFront();
    await demo.evaluate(() => { window.closes = []; window.pusher.on('close', (e) => window.closes.push(e.code)); });
    await run(bin, ['stop', '-q', '-c', config], { timeout: 15_000 });
    // The server said goodbye (1001 going away) and the client waits to come back.
    await demo.waitForFunction(() => window.closes.length > 0 && window.pusher.state !== 'open');
    assert.equal(await demo.evaluate(() => window.closes[0]), 1001);
    assert.match(await demo.locator('#state').textContent(), /^(reconnecting in \d+ ms|connecting)/);
    await start();
    // Each failed attempt doubled the next wait's cap; 30 s covers the sum.
    await demo.waitForFunction(() => window.pusher.state === 'open', null, { timeout: 30_000 });
    assert.equal(await welcomes(demo), 2);
    assert.match(await demo.locator('#state').textContent(), /^open, you are \d+\/\d+$/);
    const text = `after restart ${Date.now()}`;
    await publish({ content: text });
    await demo.waitForFunction((t) => window.received.at(-1) === t, text);
    // Reconnecting is not a loop: a few attempts while the server was down.
    const n = await demo.evaluate(() => window.attempts.length);
    assert.ok(n >= 2 && n <= 12, `${n} sockets for one restart`);
  });

  it('backs off: each delay within [minDelay/2, min(maxDelay, minDelay * 2^attempt)], the token asked for per attempt', async () => {
    const p = await modulePage();
    const dead = await freePort(); // nobody listens: every attempt is refused at once
    await p.evaluate((port) => {
      window.tokenCalls = 0;
      window.waits = [];
      const c = new window.PusherClient(`ws://127.0.0.1:${port}/?a=1`, {
        minDelay: 100, maxDelay: 800, token: async () => { window.tokenCalls++; return null; },
      });
      c.on('state', (s, info) => s === 'reconnecting' && window.waits.push(info));
      window.c = c.connect();
    }, dead);
    await p.waitForFunction(() => window.attempts.length >= 8, null, { timeout: 20_000 });
    const { attempts, waits, tokenCalls } = await p.evaluate(() =>
      ({ attempts: window.attempts, waits: window.waits, tokenCalls: window.tokenCalls }));
    // The token function ran before every socket; it returned nothing, so no token went out.
    assert.equal(tokenCalls, attempts.length);
    for (const a of attempts) assert.equal(a.url, `ws://127.0.0.1:${dead}/?a=1`);
    for (let k = 0; k + 1 < attempts.length; ++k) {
      const cap = Math.min(800, 100 * 2 ** k);
      assert.equal(waits[k].attempt, k + 1);
      assert.ok(waits[k].delay >= 50 && waits[k].delay <= cap, `wait ${k}: ${waits[k].delay} ms, cap ${cap}`);
      // The page really waited that long: bounded attempts, never a tight loop.
      const gap = attempts[k + 1].t - attempts[k].t;
      assert.ok(gap >= waits[k].delay - 2 && gap <= waits[k].delay + SLACK_MS, `gap ${k}: ${gap} ms, wait ${waits[k].delay}`);
    }
    await p.evaluate(() => window.c.close());
    await p.close();
  });

  it('backs off: at the top of the jitter the delays double up to maxDelay', async () => {
    const p = await modulePage();
    const dead = await freePort();
    await p.evaluate((port) => {
      Math.random = () => 0.9999999; // the longest wait each time: the cap itself
      window.c = new window.PusherClient(`ws://127.0.0.1:${port}/`, { minDelay: 100, maxDelay: 800 }).connect();
    }, dead);
    await p.waitForFunction(() => window.attempts.length >= 6, null, { timeout: 20_000 });
    const t = (await p.evaluate(() => window.attempts.map((a) => a.t))).slice(0, 6);
    const gaps = t.slice(1).map((x, i) => x - t[i]);
    [100, 200, 400, 800, 800].forEach((want, i) =>
      assert.ok(gaps[i] >= want - 2 && gaps[i] <= want + SLACK_MS, `gaps ${gaps.map(Math.round)}: #${i} should be ${want}`));
    // Fewer attempts than the 1 + 2300/50 a client that never grew its delay could make.
    assert.ok(t[5] - t[0] >= 2298, `six attempts within ${t[5] - t[0]} ms`);
    await p.evaluate(() => window.c.close());
    await p.close();
  });

  it('keeps backing off from a server that accepts and closes before the welcome', async () => {
    const p = await modulePage();
    await p.evaluate((port) => {
      window.waits = [];
      window.c = new window.PusherClient(`ws://127.0.0.1:${port}/`, { minDelay: 100, maxDelay: 400 });
      window.c.on('state', (s, info) => s === 'reconnecting' && window.waits.push(info));
      window.c.connect();
    }, rude.address().port);
    await p.waitForFunction(() => window.attempts.length >= 5, null, { timeout: 20_000 });
    const { attempts, waits } = await p.evaluate(() => ({ attempts: window.attempts, waits: window.waits }));
    assert.ok(attempts.slice(0, 4).every((a) => a.opened), 'the sockets did open');
    // Opening is not enough to start over: the attempt count only grows.
    assert.deepEqual(waits.slice(0, 4).map((w) => w.attempt), [1, 2, 3, 4]);
    for (let k = 0; k < 4; ++k) assert.ok(attempts[k + 1].t - attempts[k].t >= 48, `gap ${k}`);
    await p.evaluate(() => window.c.close());
    await p.close();
  });

  it('asks the token function again after it failed, and connects once it answers', async () => {
    const p = await modulePage();
    await p.evaluate((port) => {
      window.tokenCalls = 0;
      window.errors = [];
      window.c = new window.PusherClient(`ws://127.0.0.1:${port}/`, {
        minDelay: 50,
        token: () => { if (++window.tokenCalls <= 2) throw new Error('token service down'); return ''; },
      });
      window.c.on('error', (e) => window.errors.push(e.message));
      window.c.on('welcome', (w) => { window.welcome = w; });
      window.c.connect();
    }, ws);
    await p.waitForFunction(() => window.welcome);
    assert.deepEqual(await p.evaluate(() => [window.tokenCalls, window.errors, window.attempts.length]),
      [3, ['token service down', 'token service down'], 1]);
    assert.equal(await p.evaluate(() => window.attempts[0].url), `ws://127.0.0.1:${ws}/`);
    await p.evaluate(() => window.c.close());
    await p.close();
  });

  it('close() is for good: no attempt after it', async () => {
    const p = await modulePage();
    const dead = await freePort();
    await p.evaluate((port) => {
      window.c = new window.PusherClient(`ws://127.0.0.1:${port}/`, { minDelay: 100, maxDelay: 200 }).connect();
    }, dead);
    await p.waitForFunction(() => window.attempts.length >= 3);
    const closedAt = await p.evaluate(() => { window.c.close(); window.n = window.attempts.length; return performance.now(); });
    // Absence takes time to show: more than twice the longest wait, on the page's own clock.
    await until('page clock past 2 * maxDelay', () => p.evaluate((t) => performance.now() > t + 2 * 200 + 100, closedAt));
    assert.deepEqual(await p.evaluate(() => [window.attempts.length - window.n, window.c.state]), [0, 'closed']);
    await p.close();
  });

  it('/demo: close() while open stays closed, and logs no page errors', async () => {
    const n = await demo.evaluate(() => window.attempts.length);
    await demo.evaluate(() => window.pusher.close());
    assert.equal(await demo.locator('#state').textContent(), 'closed');
    const marker = `after close ${Date.now()}`;
    const other = await context.newPage();
    await other.goto(`${http}/demo?ws_port=${ws}`);
    await other.waitForFunction(() => window.pusher.state === 'open');
    await publish({ content: marker });
    await other.waitForFunction((t) => window.received.includes(t), marker);
    assert.equal(await demo.evaluate(() => window.attempts.length), n);
    assert.ok(!(await demo.evaluate(() => window.received)).includes(marker), 'a closed client got a message');
    await other.close();
    assert.deepEqual(pageErrors, []);
  });
});
