// Node.js reference push server for pusher's benchmark: the same behaviour as pusher's
// websocket + http services, in one process, written the idiomatic way with the `ws` package.
//   WebSocket (WS_PORT, default 4236): greets each client with
//     "workerID:0 connectionID:<c> connected\n"
//   HTTP (HTTP_PORT, default 4237): GET /?content=X broadcasts X to every client;
//     GET /?to_worker_id=W&to_connection_id=C&content=X sends X to client C of worker W.
//     Every publish answers exactly "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n
//     Content-Type: text/html;charset=utf-8\r\nContent-Length: 2\r\n\r\nok".
// usage: node node_ws_server.js [--ws-port P] [--http-port P] [--host H] [--seconds S]
//          [--tls-cert FILE --tls-key FILE] [--deflate 1] [--deflate-threshold 256]
//          [--deflate-level 6] [--deflate-no-context 1]
//   --tls-cert/--tls-key: wss:// (Node's https server carries the WebSocket server; the HTTP
//     publish API stays plain HTTP, as pusher's).
//   --deflate 1: perMessageDeflate, as `ws` does it: every message is compressed for each
//     connection on its own (zlib in libuv's thread pool), messages under the threshold go
//     uncompressed. Context takeover is ws's default (a window per connection) unless
//     --deflate-no-context 1 (serverNoContextTakeover, as pusher answers).
// Exits by itself after --seconds (default 600) so a benchmark run can never leave it behind.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');

function option(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const host = option('--host', '127.0.0.1');
const wsPort = Number(option('--ws-port', process.env.WS_PORT || 4236));
const httpPort = Number(option('--http-port', process.env.HTTP_PORT || 4237));
const seconds = Number(option('--seconds', 600));
const tlsCert = option('--tls-cert', '');
const tlsKey = option('--tls-key', '');
const deflate = option('--deflate', '0') === '1';
const perMessageDeflate = !deflate ? false : {
  threshold: Number(option('--deflate-threshold', 256)),
  zlibDeflateOptions: { level: Number(option('--deflate-level', 6)) },
  serverNoContextTakeover: option('--deflate-no-context', '0') === '1',
};
const WORKER_ID = 0;  // one process plays worker 0

// ---- WebSocket service ------------------------------------------------------------------
const clients = new Map();  // connection id -> ws
let lastId = 0;
let wsHttps = null;
let wss;
if (tlsCert) {
  wsHttps = https.createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey),
                                 minVersion: 'TLSv1.2' });
  wss = new WebSocketServer({ server: wsHttps, perMessageDeflate });
  wsHttps.listen(wsPort, host, 4096);
} else {
  wss = new WebSocketServer({ host, port: wsPort, perMessageDeflate, backlog: 4096 });
}
wss.on('connection', (ws) => {
  const id = ++lastId;
  clients.set(id, ws);
  ws.on('close', () => clients.delete(id));
  ws.on('error', () => clients.delete(id));
  ws.send(`workerID:${WORKER_ID} connectionID:${id} connected\n`);
});

// ---- HTTP publish API -------------------------------------------------------------------
function publish(params) {
  const content = params.get('content');
  if (!content) return;  // as the original: empty content publishes nothing
  const toWorker = params.get('to_worker_id');
  const toConn = params.get('to_connection_id');
  if (toConn !== null && toConn !== '') {
    if (toWorker !== null && Number(toWorker) !== WORKER_ID) return;
    const ws = clients.get(Number(toConn));
    if (ws) ws.send(content);
    return;
  }
  for (const ws of clients.values()) ws.send(content);
}

const server = http.createServer((req, res) => {
  const q = req.url.indexOf('?');
  publish(new URLSearchParams(q >= 0 ? req.url.slice(q + 1) : ''));
  // Byte-exact answer: no Date header, and no "Keep-Alive: timeout=" header (keepAliveTimeout 0).
  res.sendDate = false;
  res.writeHead(200, { 'Connection': 'keep-alive', 'Content-Type': 'text/html;charset=utf-8',
                       'Content-Length': '2' });
  res.end('ok');
});
server.keepAliveTimeout = 0;
server.listen(httpPort, host, 4096);

function stop() {
  server.close();
  for (const ws of clients.values()) ws.terminate();
  wss.close();
  if (wsHttps) wsHttps.close();
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setTimeout(stop, seconds * 1000).unref();
