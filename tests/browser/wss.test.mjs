// wss:// in headless Chromium (issue #13): a server certificate signed by a
// throwaway CA made here with the openssl CLI, trusted by pinning its public
// key (--ignore-certificate-errors-spki-list, Chromium's way to trust one key
// without installing a root). A page opens wss://127.0.0.1:PORT/ and gets the
// welcome, a broadcast and a push targeted at it; the publish API is https
// with the same certificate. A browser without the pin must refuse the server.
//
// Run with tests/browser/run.sh (installs chromium and playwright-core first).
// Env: PUSHER_BIN (default ./pusher, relative to the working directory).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BROWSER_ARGS, WAIT_MS, bin, freePort, launchBrowser, run } from './support.mjs';

const WELCOME = /^workerID:(\d+) connectionID:(\d+) connected\n$/;

// A CA and a server certificate it signs (SAN IP:127.0.0.1), P-256 keys.
async function makeCerts(dir) {
  const f = (name) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2',
    '-subj', '/O=pusher tests/CN=pusher browser test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('server.key'), '-out', f('server.pem'),
    '-days', '2', '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-subj', '/O=pusher tests/CN=pusher browser test',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'extendedKeyUsage=serverAuth']);
  const der = createPublicKey(await readFile(f('server.key'))).export({ type: 'spki', format: 'der' });
  return { ca: await readFile(f('ca.pem')), cert: f('server.pem'), key: f('server.key'),
    spki: createHash('sha256').update(der).digest('base64') };
}

// In the page: WebSockets that record their messages and their close event.
const openSockets = (page, url, n) => page.evaluate(({ u, count }) => {
  window.sockets = [];
  return Promise.all(Array.from({ length: count }, () => new Promise((resolve) => {
    const s = { ws: new WebSocket(u), received: [], closed: null };
    s.ws.onmessage = (e) => { s.received.push(e.data); if (s.received.length === 1) resolve('open'); };
    s.ws.onclose = (e) => { s.closed = { code: e.code, wasClean: e.wasClean }; resolve(`closed ${e.code}`); };
    window.sockets.push(s);
  })));
}, { u: url, count: n });
const received = (page, i) => page.evaluate((k) => window.sockets[k].received, i);
const waitReceived = (page, i, text) => page.waitForFunction(
  ({ k, t }) => window.sockets[k].received.includes(t), { k: i, t: text }, { timeout: WAIT_MS });

describe('wss:// in headless Chromium', () => {
  let dir, config, certs, httpsBase, wsUrl, context, page;
  let started = false;
  const serverLog = () => readFile(path.join(dir, 'pusher.log'), 'utf8').catch(() => '(no log)');

  function get(target) {
    return new Promise((resolve, reject) => {
      https.get(`${httpsBase}${target}`, { ca: certs.ca }, (r) => {
        let body = '';
        r.on('data', (d) => { body += d; });
        r.on('end', () => resolve({ status: r.statusCode, body }));
      }).on('error', reject);
    });
  }
  async function publish(query) {
    const r = await get(`/?${new URLSearchParams(query)}`);
    assert.deepEqual(r, { status: 200, body: 'ok' });
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pusher-wss-'));
    certs = await makeCerts(dir);
    const [channelPort, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    wsUrl = `wss://127.0.0.1:${wsPort}/`;
    httpsBase = `https://127.0.0.1:${httpPort}`;
    const tls = { cert: certs.cert, key: certs.key };
    config = path.join(dir, 'pusher.json');
    await writeFile(config, JSON.stringify({
      node_name: `wss-${wsPort}`,
      channel: `127.0.0.1:${channelPort}`,
      pid_file: path.join(dir, 'pusher.pid'),
      log_file: path.join(dir, 'pusher.log'),
      stats_file: path.join(dir, 'pusher.stats'),
      graceful_timeout: 3,
      services: [
        { type: 'channel', listen: `127.0.0.1:${channelPort}` },
        { type: 'websocket', listen: `127.0.0.1:${wsPort}`, count: 2, tls },
        { type: 'http', listen: `127.0.0.1:${httpPort}`, tls },
      ],
    }, null, 1));
    try {
      await run(bin, ['start', '-d', '-q', '-c', config], { timeout: WAIT_MS });
      started = true;
      const deadline = Date.now() + WAIT_MS;
      for (;;) { // /healthz over https: every worker up and on the bus
        const r = await get('/healthz').catch((e) => ({ status: e.code }));
        if (r.status === 200) break;
        if (Date.now() > deadline) throw new Error(`/healthz: ${r.status}`);
        await new Promise((res) => setTimeout(res, 50)); // polling another process
      }
    } catch (e) {
      e.message += `\n--- pusher.log ---\n${await serverLog()}`;
      throw e;
    }
    context = await launchBrowser(chromium, path.join(dir, 'profile'),
      [`--ignore-certificate-errors-spki-list=${certs.spki}`]);
    page = await context.newPage();
    // A page of the https origin, as an application's page would be. (Chromium
    // applies the pin to a WebSocket only once the host has been reached by a
    // navigation: from about:blank the same wss:// fails with 1006.)
    await page.goto(`${httpsBase}/healthz`);
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (config) {
      const stop = await run(bin, ['stop', '-q', '-c', config], { timeout: 15_000 }).catch((e) => e);
      if (started && stop instanceof Error) {
        console.error(`pusher stop failed: ${stop.message}\n--- pusher.log ---\n${await serverLog()}`);
      }
      const log = await serverLog();
      assert.ok(!log.includes('exit with status'), `a worker died:\n${log}`);
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gets the welcome over wss://', async () => {
    const states = await openSockets(page, wsUrl, 2);
    assert.deepEqual(states, ['open', 'open'], `--- pusher.log ---\n${await serverLog()}`);
    for (const i of [0, 1]) assert.match((await received(page, i))[0], WELCOME);
  });

  it('receives a broadcast published over https', async () => {
    await publish({ content: 'wss broadcast' });
    await waitReceived(page, 0, 'wss broadcast');
    await waitReceived(page, 1, 'wss broadcast');
  });

  it('receives a push targeted at its worker id and connection id', async () => {
    const [, worker, connection] = WELCOME.exec((await received(page, 0))[0]);
    await publish({ to_worker_id: worker, to_connection_id: connection, content: 'wss only 0' });
    await waitReceived(page, 0, 'wss only 0');
    await publish({ content: 'wss marker' }); // same bus stream: after the push, in order
    await waitReceived(page, 1, 'wss marker');
    assert.ok(!(await received(page, 1)).includes('wss only 0'), 'the targeted push reached another client');
  });

  it('closes cleanly: close(1000) answered by the server', async () => {
    const closed = await page.evaluate(() => Promise.all(window.sockets.map((s) => new Promise((resolve) => {
      s.ws.onclose = (e) => resolve({ code: e.code, wasClean: e.wasClean });
      s.ws.close(1000);
    }))));
    assert.deepEqual(closed, [{ code: 1000, wasClean: true }, { code: 1000, wasClean: true }]);
  });

  it('the demo page served over https connects with wss://', async () => {
    // An https page may not open ws:// (mixed content): the demo must follow its scheme.
    const demo = await context.newPage();
    const errors = [];
    demo.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await demo.goto(`${httpsBase}/demo?ws_port=${new URL(wsUrl).port}`);
    await demo.waitForFunction(() => window.received.length > 0, null, { timeout: WAIT_MS })
      .catch((e) => { throw new Error(`${e.message}; console errors: ${errors.join(' | ')}`); });
    assert.match((await demo.evaluate(() => window.received))[0], WELCOME);
    await demo.close();
  });

  it('is refused by a browser that does not trust the certificate', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true,
      chromiumSandbox: false, args: BROWSER_ARGS, timeout: 30_000 });
    try {
      const p = await browser.newPage();
      await p.goto('about:blank');
      assert.deepEqual(await openSockets(p, wsUrl, 1), ['closed 1006']);
      assert.deepEqual(await p.evaluate(() => window.sockets[0].received), []);
    } finally {
      await browser.close();
    }
    // The refusal was a failed handshake on the server: counted.
    const metrics = (await get('/metrics')).body;
    const total = metrics.split('\n').filter((l) => l.startsWith('pusher_tls_handshake_failures_total'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    assert.ok(total >= 1, `pusher_tls_handshake_failures_total is ${total}`);
  });
});
