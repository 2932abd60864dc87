// Realistic recorded decisions for the replay benchmark: a zone with a catalog
// of resources, applications with grants, delegation edges and step-up state,
// spread the way production traffic is (mostly allowed reads, some writes,
// some delegated sessions, a few cross-zone and out-of-grant attempts).

const resources = Array.from({ length: 40 }, (_, i) => ({
  id: `res-${i}`,
  identifier: `resource://svc-${i}`,
  scopes: i % 4 === 0 ? ['read', 'write', 'admin'] : ['read', 'write'],
}));
const applications = Array.from({ length: 500 }, (_, i) => `app-${i}`);

/** Deterministic PRNG so every run replays the same corpus. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return state / 2 ** 32;
  };
}

/** The zone's data document: grants per application, limits, step-up scopes. */
export function benchData() {
  const next = random(7);
  const grants = {};
  for (const app of applications) {
    grants[app] = Array.from({ length: 6 }, () => {
      const resource = resources[Math.floor(next() * resources.length)];
      return { resource: resource.identifier, scopes: next() < 0.7 ? ['read'] : ['read', 'write'] };
    });
  }
  return {
    caracal: {
      zone_id: 'zone-1',
      grants,
      limits: { max_delegation_depth: 3 },
      step_up_scopes: ['write', 'admin'],
    },
  };
}

/** `count` decision-log record values (JSON bytes) with the given recorded results. */
export function* benchInputs(count, seed = 11) {
  const next = random(seed);
  const data = benchData().caracal;
  for (let i = 0; i < count; i += 1) {
    const app = applications[Math.floor(next() * applications.length)];
    const grant = data.grants[app][Math.floor(next() * 6)];
    const resource =
      next() < 0.85
        ? resources.find((r) => r.identifier === grant.resource)
        : resources[Math.floor(next() * resources.length)];
    const roll = next();
    const scopes =
      roll < 0.6 ? ['read'] : roll < 0.9 ? ['read', 'write'] : roll < 0.97 ? ['write'] : ['admin'];
    const delegated = next() < 0.25;
    yield {
      schema_version: '2026-05-20',
      principal: {
        type: 'Application',
        id: app,
        zone_id: next() < 0.98 ? 'zone-1' : 'zone-2',
        registration_method: 'dcr',
        agent_session_id: `session-${i}`,
        lifecycle: next() < 0.5 ? 'task' : 'service',
        labels: ['files.read'],
      },
      resource: {
        type: 'http',
        id: resource.id,
        identifier: resource.identifier,
        scopes: resource.scopes,
      },
      action: { id: scopes[0] },
      session: { id: `authority-record-${i % 1000}` },
      delegation_edge: delegated
        ? {
            id: `delegation-${i}`,
            source_session_id: `session-parent-${i}`,
            target_session_id: `session-${i}`,
            issuer_application_id: 'app-parent',
            receiver_application_id: next() < 0.95 ? app : 'app-other',
            resource_id: resource.id,
            scopes: next() < 0.8 ? ['read'] : ['read', 'write'],
            edge_version: 1,
            path: Array.from(
              { length: 1 + Math.floor(next() * 4) },
              (_, d) => `delegation-${i}-${d}`,
            ),
            graph_epoch: 7,
          }
        : null,
      context: {
        actor_claims: { caracal_client_id: app },
        subject_claims: { sub: `user-${i % 5000}` },
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        session_id: `authority-record-${i % 1000}`,
        challenge_resolved: next() < 0.5,
        requested_scopes: scopes,
      },
    };
  }
}
