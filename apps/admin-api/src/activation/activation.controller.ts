import { Controller, Logger, Req, Res } from '@nestjs/common';
import { ActivationTrigger } from '@caracal-deploy/contracts';
import { NotFoundError } from '@caracal-deploy/errors';
import type { z } from 'zod';

import type { activateBody, listQuery, rollbackBody, rollbacksQuery } from '../http/api.schemas.js';
import { actorOf, type ApiRequest, type ApiResponse, type Principal } from '../http/http-types.js';
import { idempotencyKeyOf, requireIdempotencyKey } from '../http/idempotency-key.js';
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
import { ActivationClient } from './activation.client.js';
import {
  activationRecordView,
  activationStatusView,
  activationView,
  activeBindingView,
  rollbackView,
} from './activation.views.js';

/**
 * Activation and rollback of a zone, in front of the activation coordinator and
 * the rollback-controller: the registry answers which zones exist, the
 * coordinator and the controller own everything else.
 */
@Controller()
export class ActivationController {
  private readonly logger = new Logger('Activation');

  constructor(
    private readonly registry: RegistryService,
    private readonly client: ActivationClient,
  ) {}

  /** 201 with a new activation; 200 when the idempotency key made it before. */
  @Route(routes.activateVersion)
  async activate(
    @ValidParams() params: { zone: string },
    @ValidBody() body: z.output<typeof activateBody>,
    @CurrentPrincipal() principal: Principal,
    @Req() request: ApiRequest,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const key = requireIdempotencyKey(request.headers['idempotency-key'], body.idempotency_key);
    await this.registry.zone(params.zone);
    const answer = await this.client.activate({
      zoneId: params.zone,
      policySetVersionId: body.policy_set_version_id,
      expectedActiveVersionId: body.expected_active_version_id,
      idempotencyKey: key,
      reason: body.reason,
      actor: actorOf(principal),
      trigger: ActivationTrigger.MANUAL,
    });
    if (answer.activation === undefined) {
      throw new Error('the activation coordinator answered no activation');
    }
    const view = activationView(answer.activation);
    response.setHeader('location', `/v1/zones/${params.zone}/activations/${view.id}`);
    sendJson(response, answer.replayed ? 200 : 201, {
      activation: view,
      replayed: answer.replayed,
    });
  }

  @Route(routes.listActivations)
  async listActivations(
    @ValidParams() params: { zone: string },
    @ValidQuery() query: z.output<typeof listQuery>,
  ) {
    await this.registry.zone(params.zone);
    const page = await this.client.history(params.zone, query.limit, query.cursor ?? '');
    return {
      items: page.activations.map(activationRecordView),
      next_cursor: page.nextPageToken === '' ? null : page.nextPageToken,
    };
  }

  @Route(routes.getActivation)
  async getActivation(@ValidParams() params: { zone: string; activation: string }) {
    await this.registry.zone(params.zone);
    const status = await this.client.status(params.activation);
    if (status.activation?.zoneId !== params.zone) throw notInZone(params);
    return activationStatusView(status);
  }

  /** NDJSON status lines until a final state; a client that goes away ends the watch. */
  @Route(routes.watchActivation)
  async watchActivation(
    @ValidParams() params: { zone: string; activation: string },
    @Res() response: ApiResponse,
  ): Promise<void> {
    await this.registry.zone(params.zone);
    // Checked before the stream starts, so an unknown activation keeps its 404.
    const first = await this.client.status(params.activation);
    if (first.activation?.zoneId !== params.zone) throw notInZone(params);
    const signal = abortOnClose(response);
    const client = this.client;
    async function* lines() {
      for await (const status of client.watch(params.activation, signal)) {
        yield { type: 'status', ...activationStatusView(status) };
      }
    }
    await streamNdjson(response, lines(), this.logger, `watch of activation ${params.activation}`);
  }

  @Route(routes.getZoneBinding)
  async getZoneBinding(@ValidParams() params: { zone: string }) {
    await this.registry.zone(params.zone);
    const answer = await this.client.lastKnownGood(params.zone);
    return {
      zone: params.zone,
      active: answer.current === undefined ? null : activeBindingView(answer.current),
      last_known_good:
        answer.lastKnownGood === undefined ? null : activationView(answer.lastKnownGood),
    };
  }

  /** 201 when the zone was rolled back; 200 with the record when nothing changed. */
  @Route(routes.rollbackZone)
  async rollback(
    @ValidParams() params: { zone: string },
    @ValidBody() body: z.output<typeof rollbackBody>,
    @CurrentPrincipal() principal: Principal,
    @Req() request: ApiRequest,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const key = idempotencyKeyOf(request.headers['idempotency-key'], body.idempotency_key);
    await this.registry.zone(params.zone);
    const answer = await this.client.rollback({
      zoneId: params.zone,
      reason: body.reason,
      actor: actorOf(principal),
      ...(body.expected_active_version_id === undefined
        ? {}
        : { expectedActiveVersionId: body.expected_active_version_id }),
      idempotencyKey: key ?? '',
      waitForConvergence: body.wait,
      trigger: ActivationTrigger.ROLLBACK_MANUAL,
    });
    if (answer.rollback === undefined) {
      throw new Error('the rollback-controller answered no rollback record');
    }
    const view = rollbackView(answer.rollback);
    sendJson(response, view.outcome === 'rolled_back' ? 201 : 200, {
      rollback: view,
      status: answer.status === undefined ? null : activationStatusView(answer.status),
    });
  }

  @Route(routes.listZoneRollbacks)
  async listZoneRollbacks(
    @ValidParams() params: { zone: string },
    @ValidQuery() query: z.output<typeof listQuery>,
  ) {
    await this.registry.zone(params.zone);
    return this.rollbackPage(params.zone, query);
  }

  @Route(routes.listRollbacks)
  async listRollbacks(@ValidQuery() query: z.output<typeof rollbacksQuery>) {
    if (query.zone !== undefined) await this.registry.zone(query.zone);
    return this.rollbackPage(query.zone ?? '', query);
  }

  private async rollbackPage(zone: string, query: z.output<typeof listQuery>) {
    const page = await this.client.listRollbacks(zone, query.limit, query.cursor ?? '');
    return {
      items: page.rollbacks.map(rollbackView),
      next_cursor: page.nextPageToken === '' ? null : page.nextPageToken,
    };
  }
}

function notInZone(params: { zone: string; activation: string }): NotFoundError {
  return new NotFoundError(
    `activation ${params.activation} does not exist in zone "${params.zone}"`,
  );
}
