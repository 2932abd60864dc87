// The stack's verification step: from now on (rounds before the data plane was
// up and activated are not counted), waits until every region's canary agent
// has had two rounds of probes sent through the Gateway and classified by the
// verification-aggregator (joined to the STS audit event with the same request
// id), and prints the counts by result. Exits non-zero when a region shows
// anything but matches, or nothing at all within the deadline.
//
//   node tools/dev/demo-canary.mjs "<region>|<canary-metrics-url>" ...
const deadlineMs = 60_000;
const started = performance.now();
const step = (message) =>
  console.log(`  [${String(Math.round(performance.now() - started)).padStart(5)} ms] ${message}`);

/** `caracal_canary_checks_total` of one canary agent, by result. */
async function checks(metricsUrl) {
  const text = await (await fetch(metricsUrl)).text();
  const counts = {};
  for (const match of text.matchAll(/^caracal_canary_checks_total\{([^}]*)\} (\S+)$/gm)) {
    const result = /result="([^"]+)"/.exec(match[1])?.[1];
    if (result) counts[result] = (counts[result] ?? 0) + Number(match[2]);
  }
  return counts;
}

let failed = false;
for (const spec of process.argv.slice(2)) {
  const [region, metricsUrl] = spec.split('|');
  const deadline = Date.now() + deadlineMs;
  const before = await checks(metricsUrl).catch(() => ({}));
  const since = (now) =>
    Object.fromEntries(
      Object.entries(now)
        .map(([result, n]) => [result, n - (before[result] ?? 0)])
        .filter(([, n]) => n > 0),
    );
  let counts = {};
  // Two probes per round: wait for two full rounds to be classified.
  while (Date.now() < deadline) {
    counts = since(await checks(metricsUrl).catch(() => ({})));
    if (Object.values(counts).reduce((a, b) => a + b, 0) >= 4) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const summary = Object.entries(counts)
    .map(([result, n]) => `${result}=${n}`)
    .join(' ');
  const ok = total >= 4 && (counts.match ?? 0) === total;
  step(
    `canary ${region}: ${total} probes classified by the verification-aggregator (${summary || 'none'}) ${ok ? 'ok' : 'FAIL'}`,
  );
  if (!ok) failed = true;
}
process.exit(failed ? 1 : 0);
