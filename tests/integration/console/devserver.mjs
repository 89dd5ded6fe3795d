// A development server for the console's browser side: serves internal/http/console/ from disk
// at /console/ with the same Content-Security-Policy as `cavra serve`, and passes every other
// request to a running cavra. Edit a file, reload the page: no rebuild of the binary.
// Only for `cavra serve` in auth mode none (the login routes are cavra's own).
//
//   node devserver.mjs [--upstream http://127.0.0.1:8080] [--listen 127.0.0.1:8081]
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(here, '../../../internal/http/console');
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const upstream = new URL(arg('--upstream', process.env.CAVRA_UPSTREAM || 'http://127.0.0.1:8080'));
const [host, port] = arg('--listen', '127.0.0.1:8081').split(':');

export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
  + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
};

function serveFile(req, res) {
  const name = req.url.split('?')[0].replace(/^\/console\/?/, '') || 'index.html';
  if (!/^[a-z0-9._-]+$/.test(name) || name.startsWith('.')) {
    res.writeHead(404).end();
    return;
  }
  fs.readFile(path.join(dir, name), (err, body) => {
    if (err) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(name)] || 'application/octet-stream',
      'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store',
    }).end(body);
  });
}

function proxy(req, res) {
  const out = http.request({
    host: upstream.hostname, port: upstream.port, method: req.method, path: req.url,
    headers: { ...req.headers, host: upstream.host },
  }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  out.on('error', (e) => res.writeHead(502).end(`upstream: ${e.message}`));
  req.pipe(out);
}

http.createServer((req, res) => {
  if (req.method === 'GET' && (req.url === '/console' || req.url.startsWith('/console/'))) {
    if (req.url === '/console') res.writeHead(308, { Location: '/console/' }).end();
    else serveFile(req, res);
  } else {
    proxy(req, res);
  }
}).listen(Number(port), host, () => console.log(`ready http://${host}:${port}/console/ -> ${upstream.origin}`));
