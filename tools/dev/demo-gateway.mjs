// The stack's data-plane step, in every region: a user's subject token (signed
// with the development identity provider key the STS trusts) is exchanged at the
// region's STS for a short-lived access token (RFC 8693), then used on the
// region's Gateway. Shows an allowed read reaching the upstream with the
// decision headers, a write refused by policy at the exchange, and refusals at
// the Gateway that never touch the upstream. Exits non-zero on any surprise.
//
//   node tools/dev/demo-gateway.mjs <zone> "<region>|<gateway-url>|<sts-url>" ...
import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { signEs256Jwt } from '@caracal-deploy/token-exchange';

const [zone, ...regions] = process.argv.slice(2);
const root = new URL('../../', import.meta.url);
const subjectKey = createPrivateKey(
  await readFile(
    process.env.CARACAL_STS_SUBJECT_KEY_FILE ??
      new URL('.local/keys/subject-issuer-es256.pem', root).pathname,
  ),
);
const subjectIssuer = process.env.CARACAL_STS_SUBJECT_ISSUER ?? 'http://127.0.0.1:8490/dev-idp';

const subjectToken = () =>
  signEs256Jwt(
    {
      iss: subjectIssuer,
      sub: 'user-1',
      zone_id: zone,
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 300,
    },
    subjectKey,
    'dev-idp',
  );

async function exchange(stsUrl, scope) {
  const response = await fetch(`${stsUrl}/oauth/2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      subject_token: subjectToken(),
      resource: 'resource://api',
      scope,
    }),
  });
  return { status: response.status, body: await response.json() };
}

const decisionHeaders = (response) =>
  `decision=${response.headers.get('x-caracal-decision')} revision=${(response.headers.get('x-caracal-policy-revision') ?? '').slice(0, 12)}… decision-id=${(response.headers.get('x-caracal-decision-id') ?? '').slice(0, 8)}… request-id=${(response.headers.get('x-request-id') ?? '').slice(0, 8)}…`;

let failed = false;
const expect = (condition, message) => {
  console.log(`  ${condition ? 'ok  ' : 'FAIL'} ${message}`);
  if (!condition) failed = true;
};

for (const spec of regions) {
  const [region, gatewayUrl, stsUrl] = spec.split('|');
  console.log(`region ${region}: Gateway ${gatewayUrl}, STS ${stsUrl}`);
  try {
    const read = await exchange(stsUrl, 'read');
    expect(
      read.status === 200 && typeof read.body.access_token === 'string',
      `token exchange for scope read → ${read.status} (${read.body.token_type ?? read.body.error}, expires in ${read.body.expires_in ?? '-'} s)`,
    );
    const write = await exchange(stsUrl, 'write');
    expect(
      write.status !== 200,
      `token exchange for scope write → ${write.status} ${write.body.error ?? ''}: refused by the policy (decision ${String(write.body.decision_id ?? '').slice(0, 8)}…)`,
    );
    const token = read.body.access_token;
    const allowed = await fetch(`${gatewayUrl}/api/orders/42`, {
      headers: { authorization: `Bearer ${token}`, 'x-caracal-decision': 'allow' },
    });
    const upstream = await allowed.json();
    expect(
      allowed.status === 200 && upstream.upstream === 'demo',
      `GET /api/orders/42 with the read token → ${allowed.status}, reached the upstream as ${upstream.path}; ${decisionHeaders(allowed)}`,
    );
    const anonymous = await fetch(`${gatewayUrl}/api/orders/42`);
    await anonymous.arrayBuffer();
    expect(
      anonymous.status === 401,
      `GET without a token → ${anonymous.status}; ${decisionHeaders(anonymous)}`,
    );
    const post = await fetch(`${gatewayUrl}/api/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    await post.arrayBuffer();
    expect(
      post.status === 403,
      `POST with the read token → ${post.status} (the write scope is missing); ${decisionHeaders(post)}`,
    );
  } catch (error) {
    expect(false, `region ${region}: ${error.message}`);
  }
}
process.exit(failed ? 1 : 0);
