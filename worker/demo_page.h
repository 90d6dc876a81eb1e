// The page the http service serves at /demo: what a new user opens first. It
// connects to the WebSocket service with the browser client (/client/pusher.js,
// which reconnects by itself), lists what arrives, and publishes through this
// same HTTP API (broadcast, or to one client by worker/connection id or client
// id, or to a user or a group).
#pragma once

namespace pusher::worker {

// "%WS_PORT%" is replaced with the WebSocket port of this deployment,
// "%WS_SCHEME%" with wss when that service has "tls" (an https page may
// not open ws://), else ws.
inline constexpr const char kDemoPage[] = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pusher demo</title>
<style>
body{font:15px system-ui,sans-serif;margin:2em auto;max-width:46em;color:#222}
#log{border:1px solid #ccc;height:18em;overflow:auto;padding:.5em;font-family:monospace;white-space:pre-wrap}
input,button{font:inherit;padding:.3em}#content{width:18em}#to{width:17em}#to_uid,#to_group{width:12em}.st{color:#777}
</style></head><body>
<h1>pusher</h1>
<p class="st">WebSocket: <span id="state">connecting…</span></p>
<div id="log"></div>
<p><input id="content" placeholder="message" value="hello">
<input id="to" placeholder="to: worker/connection or client id">
<button id="send">Publish</button><br>
<input id="to_uid" placeholder="to user (uid)">
<input id="to_group" placeholder="to group"></p>
<p class="st">Publishing calls <code>GET /?content=…</code> on this server; a target adds
<code>to_worker_id</code> + <code>to_connection_id</code> (<code>0/1</code>), <code>to_client_id</code>,
<code>to_uid</code> or <code>to_group</code>. The page connects with
<a href="/client/pusher.js"><code>/client/pusher.js</code></a>, which reconnects by itself;
<code>?token=…</code> on this page's address is passed on to the server.</p>
<script type="module">
import { PusherClient } from '/client/pusher.js';
const $ = (id) => document.getElementById(id);
const log = (t) => { const d = $('log'); d.textContent += t.replace(/\n$/, '') + '\n'; d.scrollTop = d.scrollHeight; };
const show = (d) => typeof d === 'string' ? d : '[' + d.byteLength + ' bytes, binary]';
const params = new URLSearchParams(location.search);
const port = params.get('ws_port') || '%WS_PORT%';
window.received = [];  // every message, the welcomes included, in order (the browser tests read it)
const client = new PusherClient('%WS_SCHEME%://' + location.hostname + ':' + port + '/', {
  token: () => params.get('token'),  // read again before each (re)connect; none: no token
});
window.pusher = client;
client.on('state', (s, info) => {
  if (s === 'reconnecting') $('state').textContent = 'reconnecting in ' + info.delay + ' ms (attempt ' + info.attempt + ')';
  else if (s !== 'open') $('state').textContent = s === 'connecting' ? 'connecting…' : s;
});
client.on('welcome', (w, e) => {
  // Who we are, in the form the "to" field takes: worker/connection, or the client id.
  let me = w.client_id || w.worker_id + '/' + w.connection_id;
  if (w.uid) me += ', user ' + w.uid;
  if (w.groups && w.groups.length) me += ', groups ' + w.groups.join(', ');
  $('state').textContent = 'open, you are ' + me;
  window.received.push(e.data); log('< ' + e.data);
});
client.on('message', (data) => { window.received.push(data); log('< ' + show(data)); });
client.on('close', (e) => log('closed: ' + e.code + (e.reason ? ' ' + e.reason : '')));
client.connect();
$('send').onclick = async () => {
  const q = new URLSearchParams({content: $('content').value});
  const to = $('to').value.trim(), wc = /^(\d+)\/(\d+)$/.exec(to);
  if (wc) { q.set('to_worker_id', wc[1]); q.set('to_connection_id', wc[2]); }
  else if (to) q.set('to_client_id', to);
  for (const k of ['to_uid', 'to_group']) { const v = $(k).value.trim(); if (v) q.set(k, v); }
  const r = await fetch('/?' + q.toString()); log('> ' + q.toString() + ' : ' + await r.text());
};
</script></body></html>
)HTML";

}  // namespace pusher::worker
