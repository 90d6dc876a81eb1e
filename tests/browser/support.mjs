// What the browser tests share: the pusher binary under test, the wait
// bound, a free loopback port, and polling another process's state (which
// offers no event to await) until a condition holds.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);
export const bin = path.resolve(process.env.PUSHER_BIN || './pusher');
export const WAIT_MS = 10_000;

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function until(what, f, deadlineMs = WAIT_MS) {
  const deadline = Date.now() + deadlineMs;
  let last;
  for (;;) {
    try {
      last = await f();
      if (last === true) return;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${deadlineMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 50)); // polling another process
  }
}

// Debian's chromium (never a downloaded build), headless, with a fresh
// profile in profileDir; extraArgs and options are the test's own.
export const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser(chromium, profileDir, extraArgs = [], options = {}) {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: [...BROWSER_ARGS, ...extraArgs],
    timeout: 30_000,
    ...options,
  });
  context.setDefaultTimeout(WAIT_MS);
  return context;
}
