import type { GetDeploymentResponse, WatchDeploymentStreamLine } from '@caracal-deploy/sdk';

type DeploymentEvent = Extract<WatchDeploymentStreamLine, { type: 'event' }>['event'];

/**
 * Human progress of a deployment: prints each event, and a line whenever a
 * stage's state, a zone's converged replicas (N/M) or a verdict row changes —
 * only what changed, so the output reads as a timeline.
 */
export class DeploymentProgress {
  private readonly seen = new Map<string, string>();

  constructor(private readonly print: (text: string) => void) {}

  /** Prints one recorded event of the deployment. */
  event(event: DeploymentEvent): void {
    const where = [event.stage, event.zone].filter(Boolean).join('/');
    this.print(
      `${event.at}  ${event.kind}${where ? ` [${where}]` : ''}${event.message ? `: ${event.message}` : ''}`,
    );
  }

  /**
   * Prints what changed in the deployment since the last call, and answers the
   * zones whose replica counts changed (with their activation) so the caller
   * can show the per-region split.
   */
  update(deployment: GetDeploymentResponse): { zone: string; activationId: string }[] {
    const moved: { zone: string; activationId: string }[] = [];
    this.changed(
      'deployment',
      deployment.state,
      () => `deployment ${deployment.id}: ${deployment.state}`,
    );
    for (const stage of deployment.stages) {
      this.changed(
        `stage:${stage.name}`,
        stage.state,
        () => `  stage ${stage.name}: ${stage.state}`,
      );
      for (const zone of stage.zones) {
        const replicas = `${zone.serving_replicas}/${zone.live_replicas}`;
        const changed = this.changed(
          `zone:${stage.name}:${zone.zone}`,
          `${zone.state} ${replicas}`,
          () =>
            `    zone ${zone.zone}: ${zone.state}, replicas converged ${replicas} (regions ${stage.regions.join(', ')})${zone.detail ? ` — ${zone.detail}` : ''}`,
        );
        if (changed && zone.activation_id)
          moved.push({ zone: zone.zone, activationId: zone.activation_id });
      }
      for (const row of stage.verdict?.rows ?? []) {
        this.changed(
          `row:${stage.name}:${row.check}`,
          row.state,
          () => `    verdict ${mark(row.state)} ${row.check}: ${row.evidence}`,
        );
      }
      if (stage.verdict) {
        this.changed(
          `verdict:${stage.name}`,
          stage.verdict.state,
          () => `  stage ${stage.name} verdict: ${stage.verdict?.state}`,
        );
      }
    }
    return moved;
  }

  /** Prints a zone's converged replicas per region (from its activation status). */
  regions(
    zone: string,
    regions: readonly { region: string; live: number; serving: number }[],
  ): void {
    const text = regions.map((r) => `${r.region} ${r.serving}/${r.live}`).join(' · ');
    this.changed(
      `regions:${zone}`,
      text,
      () => `      ${zone} per region: ${text || 'no live replica'}`,
    );
  }

  private changed(key: string, value: string, line: () => string): boolean {
    if (this.seen.get(key) === value) return false;
    this.seen.set(key, value);
    this.print(line());
    return true;
  }
}

function mark(state: string): string {
  return state === 'pass' ? '✔' : state === 'fail' ? '✘' : '…';
}
