// Chromium closing WebSockets the way browsers do (issue #11): a tab closed, a
// page navigated away, ws.close(1000) and ws.close(4001, 'reason'), and bus
// content that is not UTF-8 arriving as a binary frame. A watcher page on the
// same worker (one ws worker) stays connected throughout; after each case it
// still gets the next broadcast on its first connection, the server has
// dropped the closed connection, and at the end the worker's pid is unchanged
// and the log has no "exit with status" line (a crashed worker is re-forked
// silently by the master). Last, a page sees `pusher reload` as 1001.
//
// Run with tests/browser/run.sh (installs chromium and playwright-core first).
// Env: PUSHER_BIN (default ./pusher, relative to the working directory).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { WAIT_MS, bin, freePort, launchBrowser, run, until } from './support.mjs';

const WELCOME = /^workerID:0 connectionID:(\d+) connected\n$/;

// PHP serialize() of a string: its length in bytes.
const phpStr = (buf) => Buffer.concat([Buffer.from(`s:${buf.length}:"`), buf, Buffer.from('";')]);

// A Workerman Channel publish (Frame: 4-byte big-endian total length, then
// serialize(array('type'=>'publish','channels'=>array($ch),'data'=>array('content'=>$bytes)))),
// written on a plain TCP connection to the channel service, as a PHP
// Channel\Client does. The HTTP API refuses non-UTF-8; a PHP publisher can send anything.
async function busPublish(port, channel, content) {
  const body = Buffer.concat([
    Buffer.from('a:3:{'), phpStr(Buffer.from('type')), phpStr(Buffer.from('publish')),
    phpStr(Buffer.from('channels')), Buffer.from('a:1:{i:0;'), phpStr(Buffer.from(channel)),
    Buffer.from('}'), phpStr(Buffer.from('data')), Buffer.from('a:1:{'),
    phpStr(Buffer.from('content')), phpStr(content), Buffer.from('}}'),
  ]);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(4 + body.length);
  await new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(Buffer.concat([head, body])));
    s.on('error', reject);
    s.on('close', resolve);
    s.resume();
  });
}

// In the page: one WebSocket, every message and its close event recorded.
function openSocket(page, url) {
  return page.evaluate((u) => new Promise((resolve, reject) => {
    const ws = new WebSocket(u);
    ws.binaryType = 'arraybuffer';
    window.ws = ws;
    window.msgs = [];
    window.closeEvent = null;
    window.errors = 0;
    ws.onmessage = (e) => {
      window.msgs.push(typeof e.data === 'string' ? e.data : { binary: Array.from(new Uint8Array(e.data)) });
      if (window.msgs.length === 1) resolve(e.data);
    };
    ws.onerror = () => { window.errors += 1; reject(new Error('websocket error')); };
    ws.onclose = (e) => { window.closeEvent = { code: e.code, reason: e.reason, wasClean: e.wasClean }; };
  }), url);
}

describe('Chromium clients closing, watchers unaffected', () => {
  let dir, config, http, wsUrl, channelPort, context, watcher, pid;
  let started = false;
  const pageErrors = [];
  const serverLog = () => readFile(path.join(dir, 'pusher.log'), 'utf8').catch(() => '(no log)');

  async function status() {
    const { stdout } = await run(bin, ['status', '--json', '-c', config], { timeout: WAIT_MS });
    return JSON.parse(stdout).workers.find((w) => w.name === 'pusher' && w.worker_id === 0 && w.alive);
  }

  async function publish(content) {
    const r = await fetch(`${http}/?${new URLSearchParams({ content })}`);
    assert.equal(await r.text(), 'ok');
  }

  // The watcher gets `text` on its first connection, which never closed.
  async function watcherGets(text) {
    await publish(text);
    await watcher.waitForFunction((t) => window.msgs.includes(t) || window.closeEvent, text, { timeout: WAIT_MS });
    assert.deepEqual(await watcher.evaluate(() => [window.closeEvent, window.errors]), [null, 0],
      `the watcher was cut\n${await serverLog()}`);
    assert.ok((await watcher.evaluate(() => window.msgs)).includes(text));
  }

  // The server has let go of every connection but the watcher's.
  const onlyWatcherLeft = () => until('connections back to 1', async () => {
    const w = await status();
    return w?.connections === 1 || `connections ${w?.connections}`;
  });

  async function newPage() {
    const p = await context.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(`${http}/healthz`); // an http origin to open the socket from
    return p;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pusher-clients-'));
    const [wsPort, httpPort] = [await freePort(), await freePort()];
    channelPort = await freePort();
    wsUrl = `ws://127.0.0.1:${wsPort}/`;
    http = `http://127.0.0.1:${httpPort}`;
    config = path.join(dir, 'pusher.json');
    await writeFile(config, JSON.stringify({
      node_name: `clients-${wsPort}`,
      channel: `127.0.0.1:${channelPort}`,
      pid_file: path.join(dir, 'pusher.pid'),
      log_file: path.join(dir, 'pusher.log'),
      stats_file: path.join(dir, 'pusher.stats'),
      graceful_timeout: 3,
      services: [
        { type: 'channel', listen: `127.0.0.1:${channelPort}` },
        { type: 'websocket', listen: `127.0.0.1:${wsPort}`, count: 1 },
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
    watcher = await newPage();
    assert.match(await openSocket(watcher, wsUrl), WELCOME);
    pid = (await status())?.pid;
    assert.ok(pid > 0, 'ws worker 0 has a pid');
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (config) {
      const stop = await run(bin, ['stop', '-q', '-c', config], { timeout: 15_000 }).catch((e) => e);
      if (started && stop instanceof Error) console.error(`pusher stop failed: ${stop.message}\n${await serverLog()}`);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a tab closed with its socket open', async () => {
    for (let i = 0; i < 3; ++i) {
      const p = await newPage();
      assert.match(await openSocket(p, wsUrl), WELCOME);
      await p.close();
      await onlyWatcherLeft();
      await watcherGets(`after tab close ${i}`);
    }
  });

  it('a page navigating away from a connected socket', async () => {
    const p = await context.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    for (let i = 0; i < 3; ++i) {
      // The server's own demo page connects on load, as an application would.
      await p.goto(`${http}/demo?ws_port=${new URL(wsUrl).port}`);
      await p.waitForFunction(() => window.received?.length > 0);
      await p.goto(`${http}/healthz`);
      await onlyWatcherLeft();
      await watcherGets(`after navigation ${i}`);
    }
    await p.close();
  });

  for (const [label, args] of [['ws.close(1000)', [1000]], ["ws.close(4001, 'reason')", [4001, 'reason']]]) {
    it(`a page calling ${label}`, async () => {
      const p = await newPage();
      for (let i = 0; i < 3; ++i) {
        assert.match(await openSocket(p, wsUrl), WELCOME);
        await p.evaluate((a) => window.ws.close(...a), args);
        await p.waitForFunction(() => window.closeEvent);
        // The server answers every close with 1000, as the original does; the
        // handshake completed both ways.
        assert.deepEqual(await p.evaluate(() => [window.closeEvent, window.errors]),
          [{ code: 1000, reason: '', wasClean: true }, 0]);
        await onlyWatcherLeft();
        await watcherGets(`after ${label} ${i}`);
      }
      await p.close();
    });
  }

  it('bus content that is not UTF-8 arrives as a binary frame and the socket lives on', async () => {
    const bytes = [0xff, 0xfe, 0x00, 0x80, 0x41, 0xc3];
    await busPublish(channelPort, 'broadcast', Buffer.from(bytes));
    await watcher.waitForFunction(() => window.msgs.some((m) => m.binary) || window.closeEvent);
    const got = await watcher.evaluate(() => window.msgs.find((m) => m.binary));
    assert.deepEqual(got, { binary: bytes });
    await watcherGets('text after binary');
  });

  it('kept the ws worker and logged no worker exit', async () => {
    assert.equal((await status())?.pid, pid, 'the ws worker was replaced');
    assert.doesNotMatch(await serverLog(), /exit with status/);
    assert.deepEqual(pageErrors, []);
  });

  // Last: it replaces the worker. The page's socket is handed to the new
  // worker (issue 15): no close event, and a broadcast after the reload arrives.
  it('a page stays connected through pusher reload and gets what follows it', async () => {
    const p = await newPage();
    assert.match(await openSocket(p, wsUrl), WELCOME);
    await run(bin, ['reload', '-q', '-c', config], { timeout: WAIT_MS });
    await until('the new worker', async () => ((await status())?.pid ?? pid) !== pid);
    await publish('after the reload');
    await p.waitForFunction(() => window.msgs.some((m) => m === 'after the reload') || window.closeEvent);
    assert.equal(await p.evaluate(() => window.closeEvent ?? null), null, 'the page was closed');
    assert.doesNotMatch(await serverLog(), /exit with status/);
    await p.close();
  });
});
