// The chat of seed 002 ("javascript.info" tutorial), on hyperwire instead of ws:
// an HTML page with a form at http://localhost:8080/ and a WebSocket endpoint on the same
// port that broadcasts every message to every connected client.
//
//   npm start            (PORT=5000 npm start to change the port)
import http from 'node:http';
import WebSocket from '../../dist/index.js';

const PORT = Number(process.env.PORT) || 8080;

const page = `<!doctype html>
<meta charset="utf-8">
<title>hyperwire chat</title>
<form name="publish">
  <label for="msg">Enter your message: </label>
  <input type="text" name="msg" id="msg"><br>
  <button type="submit" id="sub">Submit</button>
</form>

<div id="messages"></div>

<script>
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/')

  document.forms.publish.onsubmit = e => {
    if (ws.readyState === 1) {  // connection is open
      ws.send(msg.value)
    }
    return false
  }

  ws.onmessage = e => {
    console.log(e.data)
    const div = document.createElement('div')
    document.getElementById('messages').prepend(div)
    div.textContent = e.data
  }
</script>
`;

// An explicitly created http server, not just a request handler (as the tutorial insists).
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('Not found');
  }
});

const wss = new WebSocket.Server({ server });

wss.on('connection', (ws) => {
  console.log(`A new client connected, ${wss.clients.size} connected`);
  ws.on('message', (data, isBinary) => {
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) {
        // Forward text as text: `data` is a Buffer (as in ws 8), and sending a Buffer would
        // make browsers receive a binary frame and print "[object Blob]".
        client.send(data, { binary: isBinary });
      }
    });
  });
});

server.listen(PORT, () => {
  console.log(`The app is running on http://localhost:${PORT}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    wss.close();
    server.close(() => process.exit(0));
  });
}
