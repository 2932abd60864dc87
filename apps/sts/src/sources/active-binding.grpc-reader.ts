import { type ActivationService } from '@caracal-deploy/contracts';
import type { GrpcClient } from '@caracal-deploy/grpc';
import type { ActiveBindingReader, BindingTarget } from '@caracal-deploy/policy-sync';

/** The policy set a served revision belongs to, for audit events. */
export interface BindingFacts {
  readonly policySetId: string;
  readonly policySetVersionId: string;
}

/**
 * {@link ActiveBindingReader} over gRPC `ActivationService.GetActiveBinding`.
 * It also remembers which policy-set version each revision it saw belongs to, so
 * audit events can name `policy_set_version_id` for the revision that decided.
 */
export class GrpcActiveBindingReader implements ActiveBindingReader {
  private readonly facts = new Map<string, BindingFacts>();

  constructor(
    private readonly client: Pick<GrpcClient<typeof ActivationService>, 'getActiveBinding'>,
    private readonly timeoutMs = 5_000,
  ) {}

  async read(zoneId: string, signal?: AbortSignal): Promise<BindingTarget | null> {
    const { binding } = await this.client.getActiveBinding(
      { zoneId },
      { timeoutMs: this.timeoutMs, ...(signal ? { signal } : {}) },
    );
    if (!binding) return null;
    // Bounded: one entry per (zone, revision) seen; old revisions are dropped past a small limit.
    this.facts.set(`${zoneId}/${binding.manifestSha256}`, {
      policySetId: binding.policySetId,
      policySetVersionId: binding.policySetVersionId,
    });
    if (this.facts.size > 256) this.facts.delete(this.facts.keys().next().value!);
    return {
      zoneId,
      revision: binding.manifestSha256,
      bundleSha256: binding.bundleSha256,
      activationId: binding.activationId,
    };
  }

  /** The policy-set version of `revision` in `zoneId`, when a binding named it. */
  factsOf(zoneId: string, revision: string | null): BindingFacts | undefined {
    return revision ? this.facts.get(`${zoneId}/${revision}`) : undefined;
  }
}
