import { Controller, Logger, Req, Res } from '@nestjs/common';
import { InvalidArgumentError, NotFoundError, type FieldViolation } from '@caracal-deploy/errors';
import type { z } from 'zod';

import type {
  abortDeploymentBody,
  createDeploymentBody,
  deploymentActionBody,
  deploymentsQuery,
  watchDeploymentQuery,
} from '../http/api.schemas.js';
import { actorOf, type ApiRequest, type ApiResponse, type Principal } from '../http/http-types.js';
import { requireIdempotencyKey } from '../http/idempotency-key.js';
import { abortOnClose, streamNdjson } from '../http/ndjson.js';
import { sendJson } from '../http/reply.js';
import {
  CurrentPrincipal,
  Route,
  ValidBody,
  ValidParams,
  ValidQuery,
} from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';
import { RegistryService } from '../registry/registry.service.js';
import { DeploymentClient } from './deployment.client.js';
import { deploymentEventView, deploymentView, finalDeploymentStates } from './deployment.views.js';

type CreateDeployment = z.output<typeof createDeploymentBody>;

/**
 * Staged deployments, in front of the activation coordinator's
 * DeploymentService: the body is checked here first (every violation names its
 * exact field, including zones the registry does not have), the coordinator
 * runs the pre-flight checks and the stages.
 */
@Controller()
export class DeploymentController {
  private readonly logger = new Logger('Deployment');

  constructor(
    private readonly registry: RegistryService,
    private readonly client: DeploymentClient,
  ) {}

  /** 201 with a new deployment (a failed pre-flight included); 200 when the key made it before. */
  @Route(routes.createDeployment)
  async create(
    @ValidBody() body: CreateDeployment,
    @CurrentPrincipal() principal: Principal,
    @Req() request: ApiRequest,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const key = requireIdempotencyKey(request.headers['idempotency-key'], body.idempotency_key);
    await this.requireZones(body);
    const answer = await this.client.deploy({
      policySetVersionId: body.policy_set_version_id,
      stages: body.stages.map((stage) => ({
        name: stage.name,
        zones: stage.zones,
        regions: stage.regions,
        bakeSeconds: stage.bake_seconds,
        gates: {
          minProbeRoundsPerRegion: stage.gates.min_probe_rounds_per_region ?? 0,
          maxTransportErrorRatio: stage.gates.max_transport_error_ratio ?? 0,
          maxPolicyAgeSeconds: stage.gates.max_policy_age_seconds ?? 0,
          bakeSeconds: stage.bake_seconds,
          timeoutSeconds: stage.gates.timeout_seconds ?? 0,
        },
      })),
      zoneVersions: body.zone_versions.map((entry) => ({
        zoneId: entry.zone,
        policySetVersionId: entry.policy_set_version_id,
      })),
      options: {
        idempotencyKey: key,
        actor: actorOf(principal),
        reason: body.reason,
        acceptNoRollbackZones: body.accept_no_rollback_zones,
      },
    });
    if (answer.deployment === undefined) {
      throw new Error('the activation coordinator answered without the deployment');
    }
    const view = deploymentView(answer.deployment);
    response.setHeader('location', `/v1/deployments/${view.id}`);
    sendJson(response, answer.replayed ? 200 : 201, {
      deployment: view,
      replayed: answer.replayed,
    });
  }

  @Route(routes.listDeployments)
  async list(@ValidQuery() query: z.output<typeof deploymentsQuery>) {
    if (query.zone !== undefined) await this.registry.zone(query.zone);
    const page = await this.client.list(query.zone ?? '', query.limit, query.cursor ?? '');
    return {
      items: page.deployments.map(deploymentView),
      next_cursor: page.nextPageToken === '' ? null : page.nextPageToken,
    };
  }

  @Route(routes.getDeployment)
  async get(@ValidParams() params: { deployment: string }) {
    return deploymentView(await this.client.get(params.deployment));
  }

  /** NDJSON event lines until the deployment ends; a client that goes away ends the watch. */
  @Route(routes.watchDeployment)
  async watch(
    @ValidParams() params: { deployment: string },
    @ValidQuery() query: z.output<typeof watchDeploymentQuery>,
    @Res() response: ApiResponse,
  ): Promise<void> {
    // Checked before the stream starts, so an unknown deployment keeps its 404.
    const current = await this.client.get(params.deployment);
    // An ended deployment has no new events, and the coordinator's watch only ends
    // on the ending event: asked for what comes after that one, it would wait
    // forever. Its whole record is finite, so read that and keep what comes later.
    const ended = finalDeploymentStates.has(current.state);
    const signal = abortOnClose(response);
    const client = this.client;
    async function* lines() {
      const from = ended ? 0 : query.after_seq;
      for await (const message of client.watch(params.deployment, from, signal)) {
        if (message.event === undefined || message.deployment === undefined) continue;
        if (message.event.seq <= BigInt(query.after_seq)) continue;
        yield {
          type: 'event',
          event: deploymentEventView(message.event),
          deployment: deploymentView(message.deployment),
        };
      }
    }
    await streamNdjson(response, lines(), this.logger, `watch of deployment ${params.deployment}`);
  }

  @Route(routes.pauseDeployment)
  async pause(
    @ValidParams() params: { deployment: string },
    @ValidBody() body: z.output<typeof deploymentActionBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return deploymentView(
      await this.client.pause({
        deploymentId: params.deployment,
        actor: actorOf(principal),
        reason: body.reason,
      }),
    );
  }

  @Route(routes.resumeDeployment)
  async resume(
    @ValidParams() params: { deployment: string },
    @ValidBody() body: z.output<typeof deploymentActionBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return deploymentView(
      await this.client.resume({
        deploymentId: params.deployment,
        actor: actorOf(principal),
        reason: body.reason,
      }),
    );
  }

  @Route(routes.abortDeployment)
  async abort(
    @ValidParams() params: { deployment: string },
    @ValidBody() body: z.output<typeof abortDeploymentBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    return deploymentView(
      await this.client.abort({
        deploymentId: params.deployment,
        actor: actorOf(principal),
        reason: body.reason,
        rollBack: body.roll_back,
      }),
    );
  }

  /** Every zone a stage targets must be in the registry; each unknown one is named. */
  private async requireZones(body: CreateDeployment): Promise<void> {
    const violations: FieldViolation[] = [];
    for (const [s, stage] of body.stages.entries()) {
      for (const [z, zone] of stage.zones.entries()) {
        try {
          await this.registry.zone(zone);
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          violations.push({
            field: `stages[${s}].zones[${z}]`,
            problem: `no zone named "${zone}"`,
          });
        }
      }
    }
    const [first] = violations;
    if (first !== undefined) {
      throw new InvalidArgumentError(
        `invalid body: ${first.field}: ${first.problem}` +
          (violations.length > 1 ? ` (and ${violations.length - 1} more)` : ''),
        { violations },
      );
    }
  }
}
