// permessage-deflate in headless Chromium (issue #13): Chromium offers the
// extension by default, so a page's WebSocket must come up with it negotiated
// (no context takeover both ways), receive multi-byte UTF-8, a 100 KB JSON
// and a message under min_size intact, as broadcasts and as a targeted push,
// and send compressed messages of its own that the server takes (counted in
// total_request, the socket still served). At the end the ws worker's pid is
// unchanged and the log has no "exit with status" line.
//
// Run with tests/browser/run.sh (installs chromium and playwright-core first).
// Env: PUSHER_BIN (default ./pusher, relative to the working directory).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { WAIT_MS, bin, freePort, launchBrowser, run, until } from './support.mjs';

const WELCOME = /^workerID:0 connectionID:(\d+) connected\n$/;
const UTF8 = 'h\u00e9llo w\u00f6rld \u20ac \u{1F600} \u4f60\u597d '.repeat(20);
const BIG = JSON.stringify(Array.from({ length: 1800 }, (_, i) => ({ id: i, name: `r\u00e9sum\u00e9 ${i}`, tags: ['a', 'b'] })));
const SMALL = 'tiny \u00e9';

describe('permessage-deflate in Chromium', () => {
  let dir, config, http, wsUrl, context, page, pid;
  let connectionId = 0; // the page's, from its welcome
  let started = false;
  const serverLog = () => readFile(path.join(dir, 'pusher.log'), 'utf8').catch(() => '(no log)');

  async function worker() {
    const { stdout } = await run(bin, ['status', '--json', '-c', config], { timeout: WAIT_MS });
    return JSON.parse(stdout).workers.find((w) => w.name === 'pusher' && w.worker_id === 0 && w.alive);
  }

  async function publish(fields) {
    const r = await fetch(`${http}/`, { method: 'POST', body: new URLSearchParams(fields) });
    assert.equal(await r.text(), 'ok');
  }

  // The page received `text` (compared in the page: no 100 KB in an error message).
  async function pageGets(text) {
    await page.waitForFunction((t) => window.msgs.includes(t) || window.closeEvent, text, { timeout: WAIT_MS });
    assert.equal(await page.evaluate(() => window.closeEvent), null, `the socket closed\n${await serverLog()}`);
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pusher-deflate-'));
    const [wsPort, httpPort, channelPort] = [await freePort(), await freePort(), await freePort()];
    wsUrl = `ws://127.0.0.1:${wsPort}/`;
    http = `http://127.0.0.1:${httpPort}`;
    config = path.join(dir, 'pusher.json');
    await writeFile(config, JSON.stringify({
      node_name: `deflate-${wsPort}`,
      channel: `127.0.0.1:${channelPort}`,
      pid_file: path.join(dir, 'pusher.pid'),
      log_file: path.join(dir, 'pusher.log'),
      stats_file: path.join(dir, 'pusher.stats'),
      services: [
        { type: 'channel', listen: `127.0.0.1:${channelPort}` },
        { type: 'websocket', listen: `127.0.0.1:${wsPort}`, count: 1, deflate: { enabled: true, min_size: 256, level: 6 } },
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
    page = await context.newPage();
    await page.goto(`${http}/healthz`); // an http origin to open the socket from
    pid = (await worker())?.pid;
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

  it('negotiates permessage-deflate with no context takeover', async () => {
    const welcome = await page.evaluate((u) => new Promise((resolve, reject) => {
      const ws = new WebSocket(u);
      window.ws = ws;
      window.msgs = [];
      window.closeEvent = null;
      ws.onmessage = (e) => {
        window.msgs.push(e.data);
        if (window.msgs.length === 1) resolve(e.data);
      };
      ws.onerror = () => reject(new Error('websocket error'));
      ws.onclose = (e) => { window.closeEvent = { code: e.code, reason: e.reason }; };
    }), wsUrl);
    assert.match(welcome, WELCOME);
    const ext = await page.evaluate(() => window.ws.extensions);
    assert.match(ext, /^permessage-deflate\b/);
    assert.match(ext, /server_no_context_takeover/);
    assert.match(ext, /client_no_context_takeover/);
    connectionId = Number(WELCOME.exec(welcome)[1]);
  });

  it('receives multi-byte UTF-8, a 100 KB JSON and a small message intact', async () => {
    for (const content of [UTF8, BIG, SMALL]) {
      await publish({ content });
      await pageGets(content);
    }
    const msgs = await page.evaluate(() => window.msgs.slice(1));
    assert.deepEqual(msgs.map((m) => m.length), [UTF8.length, BIG.length, SMALL.length]);
    assert.ok(msgs[0] === UTF8 && msgs[1] === BIG && msgs[2] === SMALL, 'byte-for-byte');
  });

  it('receives a targeted push of 100 KB intact', async () => {
    const content = `${BIG} for ${connectionId}`;
    await publish({ to_worker_id: 0, to_connection_id: connectionId, content });
    await pageGets(content);
  });

  it('sends compressed messages the server takes', async () => {
    const before = (await worker()).total_request;
    await page.evaluate(([big, utf8]) => {
      window.ws.send(big);
      window.ws.send(utf8);
      window.ws.send(new TextEncoder().encode(big));
    }, [BIG, UTF8]);
    await until('3 more messages counted', async () => {
      const n = (await worker()).total_request;
      return n >= before + 3 || `total_request ${n}, was ${before}`;
    });
    await publish({ content: 'after sends' });
    await pageGets('after sends');
  });

  it('leaves the worker alive', async () => {
    assert.equal((await worker())?.pid, pid, 'the ws worker was replaced');
    assert.doesNotMatch(await serverLog(), /exit with status/);
  });
});
