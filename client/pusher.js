// pusher browser client: one WebSocket to a pusher server that comes back by
// itself. An ES module with no dependencies and no build step; the server's
// http service serves this file at /client/pusher.js.
//
//   import { PusherClient } from '/client/pusher.js';
//   const c = new PusherClient('ws://host:4236/', { token: () => myApp.freshToken() });
//   c.on('welcome', (w) => console.log('I am', c.clientId, w.uid, w.groups));
//   c.on('message', (data) => console.log(data));
//   c.connect();
//
// Events (on(name, fn) returns a function that removes fn):
//   'welcome' (w, ev)   the server's first message, parsed: the JSON welcome
//                       {type:'welcome', worker_id, connection_id, client_id, uid?, groups?}
//                       or the text one "workerID:W connectionID:C connected\n"
//                       as {type:'welcome', worker_id:W, connection_id:C, client_id:null}
//   'message' (data, ev) every later message: a string, or an ArrayBuffer for binary
//   'state' (s, info)   'connecting' | 'open' (welcome received) | 'reconnecting'
//                       (waiting info.delay ms before attempt info.attempt) | 'closed' (close())
//   'close' (ev)        each socket's CloseEvent (ev.code, ev.reason)
//   'error' (err)       the token function threw or rejected (or new WebSocket threw)
//
// Reconnects: after every close except one asked for with close(), after
// a back-off of full jitter with a floor:
//   cap   = min(maxDelay, minDelay * 2^attempt)      attempt = 0, 1, 2, ...
//   delay = minDelay/2 + random() * (cap - minDelay/2)
// so clients dropped together (a server restart closes each with 1001) come
// back spread out, and no failure, not even a socket that opens and closes at
// once, ever makes a tight loop. attempt goes back to 0 only when a welcome
// arrives: a server that accepts and then drops us keeps backing off.
//
// Tokens: `token` is a string or a (possibly async) function. The function is
// called before EVERY attempt, so an expired token is replaced on reconnect.
// A server that refuses a token answers the handshake with 401, which a
// browser only reports as close code 1006 (the status is not visible to
// pages): the client cannot tell it from a network failure, backs off and asks
// the function again, which is the moment to refresh. A function that throws
// counts as a failed attempt. null, undefined or '' send no token.

const WELCOME_TEXT = /^workerID:(\d+) connectionID:(\d+) connected/;

export class PusherClient {
  constructor(url, options = {}) {
    this.url = url;
    this.options = {
      token: null,            // string | () => string | Promise<string>
      minDelay: 500,          // ms: the first retry waits between minDelay/2 and minDelay
      maxDelay: 30000,        // ms: no wait is longer
      welcomeTimeout: 10000,  // ms: an attempt without a welcome by then is abandoned
      binaryType: 'arraybuffer',
      protocols: undefined,   // WebSocket sub-protocols, if any
      ...options,
    };
    this.state = 'closed';
    this.welcome = null;       // the last welcome
    this.clientId = null;      // its client_id (null with the text welcome)
    this.attempt = 0;          // failed attempts since the last welcome
    this._ws = null;           // the current socket
    this._timer = null;        // back-off or welcome timer
    this._run = 0;             // bumped by connect() and close(): stale callbacks compare it
    this._listeners = new Map();
  }

  on(name, fn) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(fn);
    return () => this.off(name, fn);
  }

  off(name, fn) {
    this._listeners.get(name)?.delete(fn);
  }

  // Starts connecting; a no-op while connected or trying. After close() it starts again.
  connect() {
    if (this.state !== 'closed') return this;
    this.attempt = 0;
    this._open(++this._run);
    return this;
  }

  // For good: no reconnect until connect() is called again.
  close(code = 1000, reason = '') {
    this._run++;
    clearTimeout(this._timer);
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState <= 1) ws.close(code, reason);
    this._setState('closed');
  }

  // Sends on the open socket; false when there is none (nothing is queued).
  send(data) {
    if (this.state !== 'open') return false;
    this._ws.send(data);
    return true;
  }

  // One attempt: fetch the token, open the socket, wait for the welcome.
  async _open(run) {
    this._setState('connecting', { attempt: this.attempt });
    let ws;
    try {
      const t = this.options.token;
      const token = typeof t === 'function' ? await t() : t;
      if (run !== this._run) return;  // close() while the token came
      ws = new WebSocket(withToken(this.url, token), this.options.protocols);
    } catch (err) {  // the token function failed, or the URL is bad
      if (run !== this._run) return;
      this._emit('error', err);
      return this._retry(run);
    }
    ws.binaryType = this.options.binaryType;
    this._ws = ws;
    // A handshake or welcome that never comes would otherwise hold us forever.
    this._timer = setTimeout(() => ws.close(), this.options.welcomeTimeout);
    let welcomed = false;
    ws.onmessage = (ev) => {
      if (this._ws !== ws) return;
      if (welcomed) return this._emit('message', ev.data, ev);
      welcomed = true;
      clearTimeout(this._timer);
      this.attempt = 0;  // it stayed up long enough to greet us: back-off starts over
      this.welcome = parseWelcome(ev.data);
      this.clientId = this.welcome?.client_id ?? null;
      this._setState('open');
      if (this.welcome) this._emit('welcome', this.welcome, ev);
      else this._emit('message', ev.data, ev);  // not a welcome: a server of another kind
    };
    ws.onclose = (ev) => {
      if (this._ws !== ws) return;
      this._ws = null;
      clearTimeout(this._timer);
      this._emit('close', ev);
      this._retry(run);
    };
  }

  _retry(run) {
    if (run !== this._run) return;
    const min = this.options.minDelay, floor = min / 2;
    const cap = Math.max(floor, Math.min(this.options.maxDelay, min * 2 ** this.attempt));
    const delay = Math.round(floor + Math.random() * (cap - floor));
    this.attempt++;
    this._setState('reconnecting', { attempt: this.attempt, delay });
    this._timer = setTimeout(() => run === this._run && this._open(run), delay);
  }

  _setState(s, info = {}) {
    this.state = s;
    this._emit('state', s, info);
  }

  // A listener that throws must not break the client; its error still shows.
  _emit(name, ...args) {
    for (const fn of this._listeners.get(name) ?? []) {
      try {
        fn(...args);
      } catch (err) {
        setTimeout(() => { throw err; });
      }
    }
  }
}

// url with its token query parameter set to token, or removed when token is
// empty; every other parameter is left exactly as it was.
export function withToken(url, token) {
  const u = new URL(url, globalThis.location?.href);
  const keep = u.search.slice(1).split('&').filter((p) => p && p !== 'token' && !p.startsWith('token='));
  if (token) keep.push('token=' + encodeURIComponent(token));
  u.search = keep.length ? '?' + keep.join('&') : '';
  return u.href;
}

// The server's first message as a welcome object, or null when it is none.
export function parseWelcome(data) {
  if (typeof data !== 'string') return null;
  const m = WELCOME_TEXT.exec(data);
  if (m) return { type: 'welcome', worker_id: +m[1], connection_id: +m[2], client_id: null };
  try {
    const j = JSON.parse(data);
    return j && j.type === 'welcome' ? j : null;
  } catch {
    return null;
  }
}
