// Flat ESLint config: TypeScript rules that catch real bugs (floating promises,
// import cycles) plus Nx module boundaries enforcing the tag matrix from
// CONVENTIONS.md. Spec files may additionally import the `type:testing` lib.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Which project types a project of each type may depend on (production code). */
const typeMatrix = {
  'type:app': ['type:feature', 'type:adapter', 'type:domain', 'type:util', 'type:contracts'],
  'type:feature': ['type:feature', 'type:adapter', 'type:domain', 'type:util', 'type:contracts'],
  'type:adapter': ['type:domain', 'type:util', 'type:contracts'],
  'type:domain': ['type:domain', 'type:util', 'type:contracts'],
  'type:util': ['type:util'],
  'type:contracts': [],
  // Test harnesses stand up real servers at service boundaries, so they may use adapters.
  'type:testing': ['type:util', 'type:contracts', 'type:adapter', 'type:testing'],
};

/** Which scopes may depend on which: the data plane never reaches into the control plane. */
const scopeMatrix = {
  'scope:shared': ['scope:shared'],
  'scope:control-plane': ['scope:control-plane', 'scope:shared'],
  'scope:data-plane': ['scope:data-plane', 'scope:shared'],
  'scope:tools': ['scope:tools', 'scope:control-plane', 'scope:data-plane', 'scope:shared'],
};

/** I/O and framework packages that pure libs must not import. */
const ioPackages = [
  '@nestjs/*',
  'kafkajs',
  'ioredis',
  '@grpc/grpc-js',
  'prom-client',
  'pg',
  'kysely',
  'express',
];

function depConstraints({ allowTesting }) {
  const typeRules = Object.entries(typeMatrix).map(([sourceTag, allowed]) => ({
    sourceTag,
    onlyDependOnLibsWithTags: allowTesting ? [...allowed, 'type:testing'] : allowed,
    ...(['type:domain', 'type:util'].includes(sourceTag)
      ? { bannedExternalImports: ioPackages }
      : {}),
  }));
  const scopeRules = Object.entries(scopeMatrix).map(([sourceTag, allowed]) => ({
    sourceTag,
    onlyDependOnLibsWithTags: allowed,
  }));
  return [...typeRules, ...scopeRules];
}

const boundaries = (allowTesting) => ({
  '@nx/enforce-module-boundaries': [
    'error',
    {
      enforceBuildableLibDependency: false,
      allow: [],
      depConstraints: depConstraints({ allowTesting }),
    },
  ],
});

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/.nx/**',
      '.local/**',
      'libs/contracts/src/gen/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked.map((config) => ({
    ...config,
    files: ['**/*.ts'],
  })),
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx, 'import-x': importX },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      ...boundaries(false),
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': 'error',
      'import-x/no-default-export': 'error',
    },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.base.json' })],
    },
  },
  {
    // Specs, and the test-only helpers they share (`*.test-support.ts`).
    files: ['**/*.spec.ts', '**/*.test-support.ts'],
    rules: {
      ...boundaries(true),
      // node:test's describe/it return promises the runner awaits itself.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: globals.node },
  },
  prettier,
);
