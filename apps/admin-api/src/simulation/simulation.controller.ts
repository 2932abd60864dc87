import { Controller, HttpCode, Logger, Req, Res } from '@nestjs/common';
import type { z } from 'zod';

import type { putExpectedCasesBody, replayBody, simulateBody } from '../http/api.schemas.js';
import { actorOf, type ApiRequest, type ApiResponse, type Principal } from '../http/http-types.js';
import { abortOnClose, ndjsonType, streamNdjson } from '../http/ndjson.js';
import { sendJson } from '../http/reply.js';
import { CurrentPrincipal, Route, ValidBody, ValidParams } from '../http/route.decorator.js';
import { routes } from '../http/route-table.js';
import { RegistryService } from '../registry/registry.service.js';
import { ExpectedCasesService } from './expected-cases.service.js';
import { PolicySimulationService, type ReplayEvent } from './policy-simulation.service.js';

/** Declared cases, replay of recorded decisions, and a policy set's expected cases. */
@Controller()
export class SimulationController {
  private readonly logger = new Logger('Simulation');

  constructor(
    private readonly registry: RegistryService,
    private readonly simulation: PolicySimulationService,
    private readonly expectedCases: ExpectedCasesService,
  ) {}

  @Route(routes.simulatePolicySetVersion)
  @HttpCode(200)
  async simulate(
    @ValidParams() params: { zone: string; set: string; id: string },
    @ValidBody() body: z.output<typeof simulateBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    return this.simulation.simulate(zone, set, params.id, body, actorOf(principal));
  }

  /**
   * A plain JSON result by default; with `Accept: application/x-ndjson`, progress
   * lines then the result line. The status is sent with the first line, so a
   * failure before it (unknown version, Kafka unreachable) keeps its own status;
   * a failure after it ends the stream with an `error` line. A client that goes
   * away cancels the replay.
   */
  @Route(routes.replayPolicySetVersion)
  async replay(
    @ValidParams() params: { zone: string; set: string; id: string },
    @ValidBody() body: z.output<typeof replayBody>,
    @CurrentPrincipal() principal: Principal,
    @Req() request: ApiRequest,
    @Res() response: ApiResponse,
  ): Promise<void> {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    const events = this.simulation.replay(
      zone,
      set,
      params.id,
      body,
      actorOf(principal),
      abortOnClose(response),
    );
    const streamed = (request.headers.accept ?? '').includes(ndjsonType);
    if (!streamed) {
      let result: ReplayEvent | undefined;
      for await (const event of events) if (event.type === 'result') result = event;
      if (result === undefined) throw new Error('the validator ended a replay without a report');
      const { type: _type, ...view } = result;
      sendJson(response, 200, view);
      return;
    }
    await streamNdjson(response, events, this.logger, `replay of ${params.id}`);
  }

  @Route(routes.putExpectedCases)
  async putExpectedCases(
    @ValidParams() params: { zone: string; set: string },
    @ValidBody() body: z.output<typeof putExpectedCasesBody>,
    @CurrentPrincipal() principal: Principal,
  ) {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    return this.expectedCases.put(zone, set, body.cases, actorOf(principal));
  }

  @Route(routes.getExpectedCases)
  async getExpectedCases(@ValidParams() params: { zone: string; set: string }) {
    const { zone, set } = await this.registry.policySet(params.zone, params.set);
    return this.expectedCases.get(zone, set);
  }
}
