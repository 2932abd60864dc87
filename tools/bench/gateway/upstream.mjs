// The benchmark's upstream: a minimal keep-alive HTTP service answering every
// request with a small JSON body after reading the request. Prints its port.
import { createServer } from 'node:http';

const body = JSON.stringify({ id: 42, status: 'shipped', items: [{ sku: 'a-1', qty: 2 }] });
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`upstream listening on port ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
