import { setTimeout as delay } from 'node:timers/promises';
import { type DynamicModule, Inject, Module, type Provider } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type CheckResponseSchema,
  type ComponentCheck,
  type ComponentCheckSchema,
  type GetVersionResponseSchema,
  HealthService,
  type WatchResponseSchema,
  ServingStatus,
} from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';

import { GrpcService } from './grpc.module.js';
import type { CallContext, ServiceImpl } from './service-types.js';

/**
 * One dependency check. `check` resolves with an optional detail (e.g. the
 * dependency's version) when healthy and throws when not; the error message is
 * the reason an operator sees.
 */
export interface HealthIndicator {
  readonly name: string;
  check(signal: AbortSignal): Promise<string | undefined>;
}

/** What `GetVersion` reports about the running service. */
export interface ServiceInfo {
  readonly service: string;
  readonly version: string;
  readonly build?: Readonly<Record<string, string>>;
}

type CheckResult = MessageInitShape<typeof CheckResponseSchema>;

/** Current time in nanoseconds since the Unix epoch, with microsecond precision. */
export function nowUnixNanos(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1_000)) * 1_000n;
}

/** Runs health indicators with a per-check timeout and folds them into one result. */
export class HealthChecker {
  constructor(
    private readonly indicators: readonly HealthIndicator[],
    private readonly timeoutMs = 2_000,
  ) {}

  /** Runs the named checks (all when `names` is empty); unknown names are an invalid argument. */
  async run(names: readonly string[]): Promise<CheckResult> {
    const known = new Map(this.indicators.map((indicator) => [indicator.name, indicator]));
    const violations = names.flatMap((name, index) =>
      known.has(name)
        ? []
        : [
            {
              field: `components[${index}]`,
              problem: `unknown component "${name}"; known: ${[...known.keys()].join(', ') || 'none'}`,
            },
          ],
    );
    if (violations.length > 0)
      throw new InvalidArgumentError('unknown health component', { violations });

    const selected =
      names.length === 0 ? this.indicators : this.indicators.filter((i) => names.includes(i.name));
    const components = await Promise.all(selected.map((indicator) => this.runOne(indicator)));
    const healthy = components.every((component) => component.outcome?.case === 'healthy');
    return {
      status: healthy ? ServingStatus.SERVING : ServingStatus.NOT_SERVING,
      components,
      checkedAtUnixNanos: nowUnixNanos(),
    };
  }

  private async runOne(
    indicator: HealthIndicator,
  ): Promise<MessageInitShape<typeof ComponentCheckSchema>> {
    const started = performance.now();
    const signal = AbortSignal.timeout(this.timeoutMs);
    try {
      const detail = await Promise.race([
        indicator.check(signal),
        new Promise<never>((_, reject) =>
          signal.addEventListener(
            'abort',
            () => reject(new Error(`timed out after ${this.timeoutMs} ms`)),
            { once: true },
          ),
        ),
      ]);
      const latencyMicros = BigInt(Math.round((performance.now() - started) * 1_000));
      return {
        name: indicator.name,
        outcome: { case: 'healthy', value: { latencyMicros, detail: detail ?? '' } },
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { name: indicator.name, outcome: { case: 'unhealthy', value: { reason } } };
    }
  }
}

/** Comparable fingerprint of a check: overall status and each component's outcome. */
function fingerprint(result: CheckResult): string {
  const components = (result.components ?? []) as ComponentCheck[];
  return JSON.stringify([
    result.status,
    components.map((c) => [
      c.name,
      c.outcome.case,
      c.outcome.case === 'unhealthy' ? c.outcome.value.reason : '',
    ]),
  ]);
}

const HEALTH_INDICATORS = Symbol('HEALTH_INDICATORS');
const SERVICE_INFO = Symbol('SERVICE_INFO');
const startedAtUnixNanos = nowUnixNanos();

/** `caracal.deploy.v1.HealthService`, served by every Caracal Deploy service. */
@GrpcService(HealthService)
export class HealthGrpcService implements ServiceImpl<typeof HealthService> {
  private readonly checker: HealthChecker;

  constructor(
    @Inject(HEALTH_INDICATORS) indicators: HealthIndicator[],
    @Inject(SERVICE_INFO) private readonly info: ServiceInfo,
  ) {
    this.checker = new HealthChecker(indicators);
  }

  check(request: { components: string[] }): Promise<CheckResult> {
    return this.checker.run(request.components);
  }

  getVersion(): Promise<MessageInitShape<typeof GetVersionResponseSchema>> {
    return Promise.resolve({
      service: this.info.service,
      version: this.info.version,
      build: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        ...this.info.build,
      },
      startedAtUnixNanos,
    });
  }

  async *watch(
    request: { components: string[]; intervalMillis: number },
    context: CallContext,
  ): AsyncIterable<MessageInitShape<typeof WatchResponseSchema>> {
    const intervalMs = Math.max(100, request.intervalMillis || 1_000);
    let last: string | undefined;
    while (!context.signal.aborted) {
      const check = await this.checker.run(request.components);
      const current = fingerprint(check);
      if (current !== last) {
        last = current;
        yield { check };
      }
      await delay(intervalMs, undefined, { signal: context.signal }).catch(() => undefined);
    }
  }
}

/** Options of {@link HealthModule.forRoot}. */
export interface HealthModuleOptions {
  readonly info: ServiceInfo;
  /** Providers whose values are {@link HealthIndicator}s, listed by their tokens. */
  readonly indicators: readonly Provider[];
  /** Tokens of the indicator providers, in report order. */
  readonly indicatorTokens: readonly (
    string | symbol | (abstract new (...args: never[]) => unknown)
  )[];
}

/** Serves the health service with the app's dependency checks. */
@Module({})
export class HealthModule {
  /** Registers the health service with the given service info and indicators. */
  static forRoot(options: HealthModuleOptions): DynamicModule {
    return {
      module: HealthModule,
      providers: [
        ...options.indicators,
        { provide: SERVICE_INFO, useValue: options.info },
        {
          provide: HEALTH_INDICATORS,
          useFactory: (...indicators: HealthIndicator[]) => indicators,
          inject: [...options.indicatorTokens],
        },
        HealthGrpcService,
      ],
    };
  }
}
