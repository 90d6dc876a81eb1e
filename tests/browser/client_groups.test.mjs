// The browser client with tokens, users and groups (issue #14): the server
// takes an HS256 JWT in the ?token= query (no anonymous clients), its JSON
// welcome names the user and the groups, and the HTTP API pushes to a user
// (?to_uid=) and to a group (?to_group=). Headless Chromium runs /demo with
// ?token= on its address, and a page whose token function refreshes an
// expired token on reconnect.
//
// Run with tests/browser/run.sh (installs chromium and playwright-core first).
// Env: PUSHER_BIN (default ./pusher, relative to the working directory).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { WAIT_MS, bin, freePort, launchBrowser, run, until } from './support.mjs';

const SECRET = 'client-groups-test-secret-0123456789abcdef';

// An HS256 JWT (RFC 7519), signed here as an application's backend would.
function jwt(claims, secret = SECRET) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);
const alice = () => jwt({ sub: 'alice', groups: ['room1', 'room2'], exp: now() + 600 });

// In the page: every WebSocket constructed, with its URL.
function countSockets() {
  window.attempts = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) { window.attempts.push(String(url)); super(url, protocols); }
  };
}

describe('browser client with a JWT, users and groups', () => {
  let dir, config, http, ws, context, demo;
  let started = false;
  const pageErrors = [];
  const serverLog = () => readFile(path.join(dir, 'pusher.log'), 'utf8').catch(() => '(no log)');
  const received = (page) => page.evaluate(() => window.received);

  async function publish(query) {
    const r = await fetch(`${http}/?${new URLSearchParams(query)}`);
    assert.equal(await r.text(), 'ok');
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pusher-groups-'));
    const [channelPort, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    ws = wsPort;
    http = `http://127.0.0.1:${httpPort}`;
    config = path.join(dir, 'pusher.json');
    await writeFile(config, JSON.stringify({
      node_name: `groups-${wsPort}`,
      channel: `127.0.0.1:${channelPort}`,
      pid_file: path.join(dir, 'pusher.pid'),
      log_file: path.join(dir, 'pusher.log'),
      stats_file: path.join(dir, 'pusher.stats'),
      graceful_timeout: 3,
      welcome: 'json',
      auth: { hs256_secret: SECRET, anonymous: false },
      services: [
        { type: 'channel', listen: `127.0.0.1:${channelPort}` },
        { type: 'websocket', listen: `127.0.0.1:${wsPort}`, count: 2 },
        { type: 'http', listen: `127.0.0.1:${httpPort}` },
      ],
    }, null, 1));
    try {
      await run(bin, ['start', '-d', '-q', '-c', config], { timeout: WAIT_MS });
      started = true;
      await until('/healthz 200', async () => (await fetch(`${http}/healthz`)).status === 200);
    } catch (e) {
      e.message += `\n--- pusher.log ---\n${await serverLog()}`;
      throw e;
    }
    context = await launchBrowser(chromium, path.join(dir, 'profile'));
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (config) {
      const stop = await run(bin, ['stop', '-q', '-c', config], { timeout: 15_000 }).catch((e) => e);
      if (started && stop instanceof Error) {
        console.error(`pusher stop failed: ${stop.message}\n--- pusher.log ---\n${await serverLog()}`);
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('/demo?token= connects as the token\'s user and shows the JSON welcome', async () => {
    const token = alice();
    demo = await context.newPage();
    demo.on('pageerror', (e) => pageErrors.push(e.message));
    await demo.addInitScript(countSockets);
    await demo.goto(`${http}/demo?ws_port=${ws}&token=${encodeURIComponent(token)}`);
    await demo.waitForFunction(() => window.pusher?.state === 'open');
    const w = await demo.evaluate(() => window.pusher.welcome);
    assert.equal(w.type, 'welcome');
    assert.equal(w.uid, 'alice');
    assert.deepEqual([...w.groups].sort(), ['room1', 'room2']);
    assert.equal(await demo.evaluate(() => window.pusher.clientId), w.client_id);
    assert.deepEqual(JSON.parse((await received(demo))[0]), w);
    assert.equal(await demo.locator('#state').textContent(),
      `open, you are ${w.client_id}, user alice, groups ${w.groups.join(', ')}`);
    assert.deepEqual(await demo.evaluate(() => window.attempts), [`ws://127.0.0.1:${ws}/?token=${token}`]);
  });

  it('gets pushes to its user and its groups, not to another group', async () => {
    await publish({ to_uid: 'alice', content: 'u1' });
    await publish({ to_group: 'room2', content: 'g1' });
    await publish({ to_group: 'room9', content: 'x' });
    await publish({ to_uid: 'bob', content: 'y' });
    const marker = `marker ${Date.now()}`;
    await publish({ content: marker });
    await demo.waitForFunction((m) => ['u1', 'g1', m].every((x) => window.received.includes(x)), marker);
    // The marker was published last on the same bus: what was meant for this
    // page has arrived by now, and so would have what was not.
    const got = await received(demo);
    assert.ok(!got.includes('x'), 'a push to room9 reached a member of room1 and room2 only');
    assert.ok(!got.includes('y'), 'a push to bob reached alice');
    assert.equal(got.length, 4, JSON.stringify(got));
  });

  it('a refused token looks like 1006 to the page; the token function refreshes it on reconnect', async () => {
    const p = await context.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.addInitScript(countSockets);
    await p.goto(`${http}/healthz`);
    const expired = jwt({ sub: 'alice', groups: ['room1'], exp: now() - 60 });
    const forged = jwt({ sub: 'alice', exp: now() + 600 }, 'not-the-secret-0123456789abcdef0123');
    await p.evaluate(async ({ port, tokens }) => {
      const { PusherClient } = await import('/client/pusher.js');
      window.closes = [];
      window.tokenCalls = 0;
      window.c = new PusherClient(`ws://127.0.0.1:${port}/`, {
        minDelay: 100,
        token: async () => tokens[Math.min(window.tokenCalls++, tokens.length - 1)],
      });
      window.c.on('close', (e) => window.closes.push(e.code));
      window.c.connect();
    }, { port: ws, tokens: [expired, forged, alice()] });
    await p.waitForFunction(() => window.c.state === 'open');
    assert.deepEqual(await p.evaluate(() => [window.tokenCalls, window.closes, window.attempts.length]),
      [3, [1006, 1006], 3]);
    assert.equal(await p.evaluate(() => window.c.welcome.uid), 'alice');
    await p.evaluate(() => window.c.close());
    await p.close();
  });

  it('logs no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
