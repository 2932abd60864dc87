import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type AbortDeploymentRequestSchema,
  type Deployment,
  type DeployRequestSchema,
  type DeployResponse,
  DeploymentService,
  type ListDeploymentsResponse,
  type PauseDeploymentRequestSchema,
  type WatchDeploymentResponse,
} from '@caracal-deploy/contracts';
import { createGrpcClient, type GrpcClient } from '@caracal-deploy/grpc';

import { asCallerError } from '../activation/activation.client.js';
import { ADMIN_CONFIG, type AdminConfig } from '../config/admin.config.js';

/** A Deploy request as admin-api builds it. */
export type DeployRequestInit = MessageInitShape<typeof DeployRequestSchema>;
/** Who pauses or resumes a deployment, and why. */
export type DeploymentActionInit = Omit<
  MessageInitShape<typeof PauseDeploymentRequestSchema>,
  '$typeName'
>;
/** An AbortDeployment request as admin-api builds it. */
export type AbortDeploymentInit = MessageInitShape<typeof AbortDeploymentRequestSchema>;

const dependency = 'activation-coordinator';

/**
 * admin-api's view of the coordinator's DeploymentService: staged rollouts of
 * one policy-set version. Failures arrive as the closed error set with REST
 * field names; a coordinator that cannot serve (or does not serve deployments)
 * is `unavailable` (HTTP 503) naming it.
 */
@Injectable()
export class DeploymentClient implements OnApplicationShutdown {
  private readonly deployments: GrpcClient<typeof DeploymentService>;

  constructor(@Inject(ADMIN_CONFIG) config: AdminConfig) {
    this.deployments = createGrpcClient(DeploymentService, config.coordinatorAddress, {
      defaultTimeoutMs: config.coordinatorTimeoutMs,
    });
  }

  /** Runs the pre-flight checks and, when they pass, starts the deployment. */
  deploy(request: DeployRequestInit): Promise<DeployResponse> {
    return this.call(() => this.deployments.deploy(request));
  }

  /** A deployment with its checks, stages, zones and verdicts. */
  async get(deploymentId: string): Promise<Deployment> {
    return required(await this.call(() => this.deployments.getDeployment({ deploymentId })));
  }

  /** A page of deployments (those targeting `zone`, or all for ""), newest first. */
  list(zone: string, pageSize: number, pageToken: string): Promise<ListDeploymentsResponse> {
    return this.call(() => this.deployments.listDeployments({ zoneId: zone, pageSize, pageToken }));
  }

  /** Recorded events after `afterSeq`, then each new one, until the deployment ends. */
  async *watch(
    deploymentId: string,
    afterSeq: number,
    signal: AbortSignal,
  ): AsyncGenerator<WatchDeploymentResponse> {
    try {
      yield* this.deployments.watchDeployment(
        { deploymentId, afterSeq: BigInt(afterSeq) },
        { signal },
      );
    } catch (error) {
      throw asCallerError(error, dependency);
    }
  }

  /** Stops the deployment from starting its next stage. */
  async pause(request: DeploymentActionInit): Promise<Deployment> {
    return required(await this.call(() => this.deployments.pauseDeployment(request)));
  }

  /** Lets a paused deployment continue. */
  async resume(request: DeploymentActionInit): Promise<Deployment> {
    return required(await this.call(() => this.deployments.resumeDeployment(request)));
  }

  /** Ends a deployment without starting another stage (and rolls it back when asked). */
  async abort(request: AbortDeploymentInit): Promise<Deployment> {
    return required(await this.call(() => this.deployments.abortDeployment(request)));
  }

  onApplicationShutdown(): void {
    this.deployments.close();
  }

  private async call<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw asCallerError(error, dependency);
    }
  }
}

function required(answer: { deployment?: Deployment }): Deployment {
  if (answer.deployment === undefined) {
    throw new Error('the activation coordinator answered without the deployment');
  }
  return answer.deployment;
}
