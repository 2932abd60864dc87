import type * as Api from './gen/admin-api.types.js';
import {
  type ClientOptions,
  HttpTransport,
  type RequestSpec,
  segment as s,
} from './http-transport.js';

type Query = RequestSpec['query'];

/** A request body whose idempotency key the SDK fills in when the caller leaves it out. */
type WithOptionalKey<T extends { idempotency_key?: string }> = Omit<T, 'idempotency_key'> & {
  readonly idempotency_key?: string;
};

/** A created-or-existing answer: `created` is false when identical content (or the same key) existed. */
export interface Upserted<T> {
  readonly created: boolean;
  readonly value: T;
}

/** Options of a streaming call. */
export interface StreamOptions {
  /** Stops the stream (and, for a replay, cancels it on the server). */
  readonly signal?: AbortSignal;
}

const newKey = (): string => globalThis.crypto.randomUUID();

/**
 * Typed client of the Caracal Deploy Admin API. Request and response types are
 * generated from the API's OpenAPI document (`src/gen/admin-api.types.ts`).
 * Every failure is an `AdminApiError` subclass; only safe requests are retried.
 */
export class AdminClient {
  private readonly http: HttpTransport;

  constructor(options: ClientOptions) {
    this.http = new HttpTransport(options);
  }

  private async get<T>(path: string, query?: Query): Promise<T> {
    return (await this.http.json<T>({ method: 'GET', path, ...(query ? { query } : {}) })).body;
  }

  private async post<T>(path: string, body: unknown, idempotencyKey?: string): Promise<T> {
    return (await this.upsert<T>(path, body, idempotencyKey)).value;
  }

  private async upsert<T>(
    path: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<Upserted<T>> {
    const answer = await this.http.json<T>({
      method: 'POST',
      path,
      body: body ?? {},
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    return { created: answer.status === 201, value: answer.body };
  }

  /** `GET /v1/health`: dependency checks (throws `UnavailableError` on 503). */
  health(): Promise<unknown> {
    return this.get('/v1/health');
  }

  /** `GET /v1/openapi.json`: the API's contract. */
  openApi(): Promise<Record<string, unknown>> {
    return this.get('/v1/openapi.json');
  }

  /** API tokens (admin). */
  readonly tokens = {
    create: (body: Api.CreateTokenBody) => this.post<Api.CreateTokenResponse>('/v1/tokens', body),
    list: (query?: Api.ListTokensQuery) => this.get<Api.ListTokensResponse>('/v1/tokens', query),
    revoke: async (id: string) =>
      (
        await this.http.json<Api.RevokeTokenResponse>({
          method: 'DELETE',
          path: `/v1/tokens/${s(id)}`,
        })
      ).body,
  };

  /** Zones: tenants/environments with one active policy-set version each. */
  readonly zones = {
    create: (body: Api.CreateZoneBody) => this.post<Api.CreateZoneResponse>('/v1/zones', body),
    list: (query?: Api.ListZonesQuery) => this.get<Api.ListZonesResponse>('/v1/zones', query),
    get: (zone: string) => this.get<Api.GetZoneResponse>(`/v1/zones/${s(zone)}`),
  };

  /** The zone's resource catalog. */
  readonly resources = {
    create: (zone: string, body: Api.CreateResourceBody) =>
      this.post<Api.CreateResourceResponse>(`/v1/zones/${s(zone)}/resources`, body),
    list: (zone: string, query?: Api.ListResourcesQuery) =>
      this.get<Api.ListResourcesResponse>(`/v1/zones/${s(zone)}/resources`, query),
    get: (zone: string, slug: string) =>
      this.get<Api.GetResourceResponse>(`/v1/zones/${s(zone)}/resources/${s(slug)}`),
  };

  /** Policies and their immutable, validated versions. */
  readonly policies = {
    create: (zone: string, body: Api.CreatePolicyBody) =>
      this.post<Api.CreatePolicyResponse>(`/v1/zones/${s(zone)}/policies`, body),
    list: (zone: string, query?: Api.ListPoliciesQuery) =>
      this.get<Api.ListPoliciesResponse>(`/v1/zones/${s(zone)}/policies`, query),
    get: (zone: string, policy: string) =>
      this.get<Api.GetPolicyResponse>(`/v1/zones/${s(zone)}/policies/${s(policy)}`),
    /** Modules + data + tests → a version; a 422 throws `ValidationFailedError` with the findings. */
    createVersion: (zone: string, policy: string, body: Api.CreatePolicyVersionBody) =>
      this.upsert<Api.CreatePolicyVersionResponse>(
        `/v1/zones/${s(zone)}/policies/${s(policy)}/versions`,
        body,
      ),
    /** A Caracal policy pack (manifest + files) → a version. */
    uploadPack: (zone: string, policy: string, body: Api.UploadPolicyPackBody) =>
      this.upsert<Api.UploadPolicyPackResponse>(
        `/v1/zones/${s(zone)}/policies/${s(policy)}/versions:pack`,
        body,
      ),
    listVersions: (zone: string, policy: string, query?: Api.ListPolicyVersionsQuery) =>
      this.get<Api.ListPolicyVersionsResponse>(
        `/v1/zones/${s(zone)}/policies/${s(policy)}/versions`,
        query,
      ),
    /** A version with its content and latest verdict (the validation result). */
    getVersion: (zone: string, policy: string, id: string) =>
      this.get<Api.GetPolicyVersionResponse>(
        `/v1/zones/${s(zone)}/policies/${s(policy)}/versions/${s(id)}`,
      ),
  };

  /** Policy sets, their versions, bundles, simulation, replay and expected cases. */
  readonly policySets = {
    create: (zone: string, body: Api.CreatePolicySetBody) =>
      this.post<Api.CreatePolicySetResponse>(`/v1/zones/${s(zone)}/policy-sets`, body),
    list: (zone: string, query?: Api.ListPolicySetsQuery) =>
      this.get<Api.ListPolicySetsResponse>(`/v1/zones/${s(zone)}/policy-sets`, query),
    get: (zone: string, set: string) =>
      this.get<Api.GetPolicySetResponse>(`/v1/zones/${s(zone)}/policy-sets/${s(set)}`),
    /** Policy version ids → a validated set version; a 422 throws `ValidationFailedError`. */
    createVersion: (zone: string, set: string, body: Api.CreatePolicySetVersionBody) =>
      this.upsert<Api.CreatePolicySetVersionResponse>(
        `/v1/zones/${s(zone)}/policy-sets/${s(set)}/versions`,
        body,
      ),
    listVersions: (zone: string, set: string, query?: Api.ListPolicySetVersionsQuery) =>
      this.get<Api.ListPolicySetVersionsResponse>(
        `/v1/zones/${s(zone)}/policy-sets/${s(set)}/versions`,
        query,
      ),
    /** A set version with its manifest, verdict (validation result), bundle and expected-case run. */
    getVersion: (zone: string, set: string, id: string) =>
      this.get<Api.GetPolicySetVersionResponse>(
        `/v1/zones/${s(zone)}/policy-sets/${s(set)}/versions/${s(id)}`,
      ),
    /** Builds and signs the version's bundle (revision = manifest sha256). */
    buildBundle: (zone: string, set: string, id: string) =>
      this.post<Api.BuildBundleResponse>(
        `/v1/zones/${s(zone)}/policy-sets/${s(set)}/versions/${s(id)}/bundle`,
        undefined,
      ),
    /** Runs declared cases on the version's signed bundle (optionally against the live one). */
    simulate: (zone: string, set: string, id: string, body: Api.SimulatePolicySetVersionBody) =>
      this.post<Api.SimulatePolicySetVersionResponse>(
        `/v1/zones/${s(zone)}/policy-sets/${s(set)}/versions/${s(id)}/simulations`,
        body,
      ),
    /** Replays recorded decisions on the version and judges the gate (one JSON answer). */
    replay: (zone: string, set: string, id: string, body: Api.ReplayPolicySetVersionBody) =>
      this.post<Api.ReplayPolicySetVersionResponse>(
        `/v1/zones/${s(zone)}/policy-sets/${s(set)}/versions/${s(id)}/replays`,
        body,
      ),
    /**
     * The same replay, streamed: `progress` lines, then the `result` line.
     * Breaking out of the loop (or aborting) cancels the replay on the server.
     */
    replayStream: (
      zone: string,
      set: string,
      id: string,
      body: Api.ReplayPolicySetVersionBody,
      options: StreamOptions = {},
    ): AsyncGenerator<Api.ReplayPolicySetVersionStreamLine, void, undefined> =>
      this.http.ndjson({
        method: 'POST',
        path: `/v1/zones/${s(zone)}/policy-sets/${s(set)}/versions/${s(id)}/replays`,
        body,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    putExpectedCases: async (zone: string, set: string, body: Api.PutExpectedCasesBody) =>
      (
        await this.http.json<Api.PutExpectedCasesResponse>({
          method: 'PUT',
          path: `/v1/zones/${s(zone)}/policy-sets/${s(set)}/expected-cases`,
          body,
        })
      ).body,
    getExpectedCases: (zone: string, set: string) =>
      this.get<Api.GetExpectedCasesResponse>(
        `/v1/zones/${s(zone)}/policy-sets/${s(set)}/expected-cases`,
      ),
  };

  /** Signed bundles by content address. */
  readonly bundles = {
    /** The bundle bytes (tar.gz). */
    download: async (sha256: string): Promise<Uint8Array> => {
      const url = `/v1/bundles/${s(sha256)}`;
      const answer = await this.http.bytes({ method: 'GET', path: url });
      return answer;
    },
  };

  /** Activation: compare-and-set per zone, idempotent by key, watched to convergence. */
  readonly activations = {
    /** Activates a version; without `idempotency_key` the SDK makes one, so retries are safe. */
    activate: (zone: string, body: WithOptionalKey<Api.ActivateVersionBody>) => {
      const key = body.idempotency_key ?? newKey();
      return this.post<Api.ActivateVersionResponse>(
        `/v1/zones/${s(zone)}/activations`,
        { ...body, idempotency_key: key },
        key,
      );
    },
    /** The zone's activations, newest first (rollbacks included, with `trigger`). */
    list: (zone: string, query?: Api.ListActivationsQuery) =>
      this.get<Api.ListActivationsResponse>(`/v1/zones/${s(zone)}/activations`, query),
    /** Status with per-replica and per-region progress. */
    get: (zone: string, activation: string) =>
      this.get<Api.GetActivationResponse>(`/v1/zones/${s(zone)}/activations/${s(activation)}`),
    /** Yields the status on every change; the last one is terminal. */
    watch: (
      zone: string,
      activation: string,
      options: StreamOptions = {},
    ): AsyncGenerator<Api.WatchActivationStreamLine, void, undefined> =>
      this.http.ndjson({
        method: 'GET',
        path: `/v1/zones/${s(zone)}/activations/${s(activation)}/watch`,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    /** What the zone serves now and its last known good version. */
    binding: (zone: string) => this.get<Api.GetZoneBindingResponse>(`/v1/zones/${s(zone)}/binding`),
  };

  /** Rollback to the last known good version. */
  readonly rollbacks = {
    /** Rolls the zone back; `created` is false when nothing changed (duplicate, skipped). */
    rollback: (zone: string, body: WithOptionalKey<Api.RollbackZoneBody>) => {
      const key = body.idempotency_key ?? newKey();
      return this.upsert<Api.RollbackZoneResponse>(
        `/v1/zones/${s(zone)}/rollbacks`,
        { ...body, idempotency_key: key },
        key,
      );
    },
    listForZone: (zone: string, query?: Api.ListZoneRollbacksQuery) =>
      this.get<Api.ListZoneRollbacksResponse>(`/v1/zones/${s(zone)}/rollbacks`, query),
    list: (query?: Api.ListRollbacksQuery) =>
      this.get<Api.ListRollbacksResponse>('/v1/rollbacks', query),
  };

  /** Staged deployments. */
  readonly deployments = {
    /** Starts a deployment; without `idempotency_key` the SDK makes one, so retries are safe. */
    create: (body: WithOptionalKey<Api.CreateDeploymentBody>) => {
      const key = body.idempotency_key ?? newKey();
      return this.post<Api.CreateDeploymentResponse>(
        '/v1/deployments',
        { ...body, idempotency_key: key },
        key,
      );
    },
    get: (deployment: string) =>
      this.get<Api.GetDeploymentResponse>(`/v1/deployments/${s(deployment)}`),
    list: (query?: Api.ListDeploymentsQuery) =>
      this.get<Api.ListDeploymentsResponse>('/v1/deployments', query),
    /** Yields each state change (`event` + the deployment as it stands) until the deployment ends. */
    watch: (
      deployment: string,
      query: Api.WatchDeploymentQuery = {},
      options: StreamOptions = {},
    ): AsyncGenerator<Api.WatchDeploymentStreamLine, void, undefined> =>
      this.http.ndjson({
        method: 'GET',
        path: `/v1/deployments/${s(deployment)}/watch`,
        query,
        ...(options.signal ? { signal: options.signal } : {}),
      }),
    pause: (deployment: string, body: Api.PauseDeploymentBody) =>
      this.post<Api.PauseDeploymentResponse>(`/v1/deployments/${s(deployment)}/pause`, body),
    resume: (deployment: string, body: Api.ResumeDeploymentBody) =>
      this.post<Api.ResumeDeploymentResponse>(`/v1/deployments/${s(deployment)}/resume`, body),
    abort: (deployment: string, body: Api.AbortDeploymentBody) =>
      this.post<Api.AbortDeploymentResponse>(`/v1/deployments/${s(deployment)}/abort`, body),
  };

  /** The registry's record of who created what. */
  readonly history = {
    list: (query?: Api.ListHistoryQuery) => this.get<Api.ListHistoryResponse>('/v1/history', query),
  };
}

/** Every item of a paged list, page after page (`limit`/`cursor`/`next_cursor`). */
export async function* allPages<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  do {
    const answer = await page(cursor);
    yield* answer.items;
    cursor = answer.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
