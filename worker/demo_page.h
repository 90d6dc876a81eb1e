// The page the http service serves at /demo: what a new user opens first. It
// connects to the WebSocket service, lists what arrives, and publishes through
// this same HTTP API (broadcast, or to one client by worker/connection id or
// client id).
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
input,button{font:inherit;padding:.3em}#content{width:18em}#to{width:17em}.st{color:#777}
</style></head><body>
<h1>pusher</h1>
<p class="st">WebSocket: <span id="state">connecting…</span></p>
<div id="log"></div>
<p><input id="content" placeholder="message" value="hello">
<input id="to" placeholder="to: worker/connection or client id">
<button id="send">Publish</button></p>
<p class="st">Publishing calls <code>GET /?content=…</code> on this server; a target adds
<code>to_worker_id</code> + <code>to_connection_id</code> (<code>0/1</code>) or <code>to_client_id</code>.</p>
<script>
const $ = (id) => document.getElementById(id);
const log = (t) => { const d = $('log'); d.textContent += t.replace(/\n$/, '') + '\n'; d.scrollTop = d.scrollHeight; };
const port = new URLSearchParams(location.search).get('ws_port') || '%WS_PORT%';
const ws = new WebSocket('%WS_SCHEME%://' + location.hostname + ':' + port);
window.received = [];
ws.onopen = () => $('state').textContent = 'open';
ws.onclose = () => $('state').textContent = 'closed';
ws.onmessage = (e) => {
  // The first message says who we are: text "workerID:W connectionID:C connected" or JSON.
  if (!window.received.length) {
    const m = /^workerID:(\d+) connectionID:(\d+)/.exec(e.data);
    let me = m && m[1] + '/' + m[2];
    try { const j = JSON.parse(e.data); if (j.type === 'welcome') me = j.client_id; } catch (_) {}
    if (me) $('state').textContent = 'open, you are ' + me;
  }
  window.received.push(e.data); log('< ' + e.data);
};
$('send').onclick = async () => {
  const q = new URLSearchParams({content: $('content').value});
  const to = $('to').value.trim(), wc = /^(\d+)\/(\d+)$/.exec(to);
  if (wc) { q.set('to_worker_id', wc[1]); q.set('to_connection_id', wc[2]); }
  else if (to) q.set('to_client_id', to);
  const r = await fetch('/?' + q.toString()); log('> ' + q.toString() + ' : ' + await r.text());
};
</script></body></html>
)HTML";

}  // namespace pusher::worker
