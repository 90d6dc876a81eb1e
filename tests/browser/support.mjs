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
