// The page the http service serves at /demo: what a new user opens first. It
// connects to the WebSocket service, lists what arrives, and publishes through
// this same HTTP API (broadcast or to one client id).
#pragma once

namespace pusher::worker {

// "%WS_PORT%" is replaced with the WebSocket port of this deployment.
inline constexpr const char kDemoPage[] = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pusher demo</title>
<style>
body{font:15px system-ui,sans-serif;margin:2em auto;max-width:46em;color:#222}
#log{border:1px solid #ccc;height:18em;overflow:auto;padding:.5em;font-family:monospace;white-space:pre-wrap}
input,button{font:inherit;padding:.3em}#content{width:20em}.st{color:#777}
</style></head><body>
<h1>pusher</h1>
<p class="st">WebSocket: <span id="state">connecting…</span></p>
<div id="log"></div>
<p><input id="content" placeholder="message" value="hello">
<input id="to" placeholder="client id (empty: everyone)">
<button id="send">Publish</button></p>
<p class="st">Publishing calls <code>GET /?content=…</code> (or <code>to_client_id</code>) on this server.</p>
<script>
const log = (t) => { const d = document.getElementById('log'); d.textContent += t + '\n'; d.scrollTop = d.scrollHeight; };
const port = new URLSearchParams(location.search).get('ws_port') || '%WS_PORT%';
const ws = new WebSocket('ws://' + location.hostname + ':' + port);
window.received = [];
ws.onopen = () => document.getElementById('state').textContent = 'open';
ws.onclose = () => document.getElementById('state').textContent = 'closed';
ws.onmessage = (e) => { window.received.push(e.data); log('< ' + e.data); };
document.getElementById('send').onclick = async () => {
  const q = new URLSearchParams({content: document.getElementById('content').value});
  const to = document.getElementById('to').value; if (to) q.set('to_client_id', to);
  const r = await fetch('/?' + q.toString()); log('> ' + q.toString() + ' : ' + await r.text());
};
</script></body></html>
)HTML";

}  // namespace pusher::worker
