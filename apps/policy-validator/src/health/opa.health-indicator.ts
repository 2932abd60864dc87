import { Inject, Injectable } from '@nestjs/common';
import type { HealthIndicator } from '@caracal-deploy/grpc';
import { OpaCli } from '@caracal-deploy/opa';

/** Injection token of the configured `opa` binary path. */
export const OPA_BIN = Symbol('OPA_BIN');

/** Healthy when the configured `opa` CLI runs; reports its version. */
@Injectable()
export class OpaHealthIndicator implements HealthIndicator {
  readonly name = 'opa';
  private readonly opa: OpaCli;

  constructor(@Inject(OPA_BIN) bin: string) {
    this.opa = new OpaCli({ bin, timeoutMs: 5_000 });
  }

  async check(): Promise<string> {
    return `opa ${await this.opa.version()}`;
  }
}
