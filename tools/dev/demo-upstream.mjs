// The local stack's protected upstream: answers every request with what reached
// it (method, path, and the decision headers the Gateway added), so a caller can
// see that only allowed requests arrive and what the Gateway vouched for.
//
//   PORT=8600 node tools/dev/demo-upstream.mjs
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8600);
createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        upstream: 'demo',
        method: request.method,
        path: request.url,
        request_id: request.headers['x-request-id'] ?? null,
        decision_id: request.headers['x-caracal-decision-id'] ?? null,
        revision: request.headers['x-caracal-policy-revision'] ?? null,
      }),
    );
  });
}).listen(port, '127.0.0.1', () => console.log(`demo upstream on http://127.0.0.1:${port}`));
process.on('SIGTERM', () => process.exit(0));
