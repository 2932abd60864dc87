import { Inject, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  type BuildBundleRequest,
  type BuildBundleResponseSchema,
  Decision,
  type PolicySource,
  Severity,
  type ValidateRequest,
  type ValidateResponseSchema,
  ValidationService,
} from '@caracal-deploy/contracts';
import { InvalidArgumentError } from '@caracal-deploy/errors';
import { GrpcService, type ServiceImpl } from '@caracal-deploy/grpc';

import type { PolicySourceInput } from './policy-source.js';
import { ValidationPipeline } from './validation-pipeline.js';
import type { ValidationReport } from './validation-model.js';

/** Injection token of the app's {@link ValidationPipeline}. */
export const VALIDATION_PIPELINE = Symbol('VALIDATION_PIPELINE');

type ValidateResponseInit = MessageInitShape<typeof ValidateResponseSchema>;

/** `caracal.deploy.v1.ValidationService`: thin mapping between the proto and the pipeline. */
@GrpcService(ValidationService)
export class ValidationGrpcService
  implements ServiceImpl<typeof ValidationService>, OnModuleDestroy
{
  private readonly logger = new Logger('ValidationService');

  constructor(@Inject(VALIDATION_PIPELINE) private readonly pipeline: ValidationPipeline) {}

  async validate(request: ValidateRequest): Promise<ValidateResponseInit> {
    const report = await this.pipeline.validate(sourceInput(request.source));
    this.logger.log(`validated: valid=${report.valid} findings=${report.findings.length}`);
    return toResponse(report);
  }

  async buildBundle(
    request: BuildBundleRequest,
  ): Promise<MessageInitShape<typeof BuildBundleResponseSchema>> {
    if (request.revision.length === 0) {
      throw new InvalidArgumentError('a bundle needs a revision', {
        violations: [{ field: 'revision', problem: "expected the version's manifest sha256" }],
      });
    }
    const built = await this.pipeline.buildBundle(sourceInput(request.source), request.revision);
    return {
      validation: toResponse(built.validation),
      ...(built.bundle === undefined
        ? {}
        : { bundle: built.bundle, bundleSha256: built.bundleSha256 ?? '' }),
      signingKeyId: built.signingKeyId,
      signingAlgorithm: built.signingAlgorithm,
    };
  }

  async onModuleDestroy(): Promise<void> {
    await this.pipeline.close();
  }
}

function sourceInput(source: PolicySource | undefined): PolicySourceInput {
  if (source === undefined) {
    throw new InvalidArgumentError('missing policy source', {
      violations: [{ field: 'source', problem: 'expected the modules, data, tests and catalog' }],
    });
  }
  return {
    zoneId: source.zoneId,
    modules: source.modules.map(({ path, source: text }) => ({ path, source: text })),
    data: source.data.map(({ path, json }) => ({ path, json })),
    tests: source.tests.map(({ name, inputJson, expectedDecision }) => ({
      name,
      inputJson,
      expectedDecision:
        expectedDecision === Decision.ALLOW
          ? 'allow'
          : expectedDecision === Decision.DENY
            ? 'deny'
            : undefined,
    })),
    catalog: source.catalog.map(({ identifier, id, scopes }) => ({ identifier, id, scopes })),
  };
}

const decisions = { allow: Decision.ALLOW, deny: Decision.DENY } as const;

function toResponse(report: ValidationReport): ValidateResponseInit {
  return {
    valid: report.valid,
    opaVersion: report.opaVersion,
    findings: report.findings.map((finding) => ({
      severity: finding.severity === 'error' ? Severity.ERROR : Severity.WARNING,
      code: finding.code,
      message: finding.message,
      ...(finding.location === undefined ? {} : { location: finding.location }),
      details: { ...finding.details },
    })),
    tests: report.tests.map((test) => ({
      name: test.name,
      kind: test.kind,
      passed: test.passed,
      expected: test.expected === undefined ? Decision.UNSPECIFIED : decisions[test.expected],
      actual: test.actual === undefined ? Decision.UNSPECIFIED : decisions[test.actual],
      message: test.message,
    })),
  };
}
