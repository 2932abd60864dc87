#!/usr/bin/env bash
# Scaffold the boilerplate of a new Nx project (package.json, project.json,
# tsconfig.json) so every project is wired the same way.
# usage: tools/lib/new-project.sh <apps|libs> <name> <type-tag> <scope-tag> [referenced-lib...]
set -euo pipefail
kind=$1 name=$2 type=$3 scope=$4
shift 4
root="$kind/$name"
mkdir -p "$root/src"
project_type=library
[ "$kind" = apps ] && project_type=application
refs=""
for ref in "$@"; do refs+="${refs:+, }{ \"path\": \"../../libs/$ref\" }"; done
cat > "$root/package.json" <<JSON
{
  "name": "@caracal-deploy/$name",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "exports": {
    ".": {
      "types": "./dist/index.d.ts",
      "default": "./dist/index.js"
    }
  }
}
JSON
cat > "$root/project.json" <<JSON
{
  "name": "$name",
  "\$schema": "../../node_modules/nx/schemas/project-schema.json",
  "projectType": "$project_type",
  "sourceRoot": "$root/src",
  "tags": ["type:$type", "scope:$scope"],
  "targets": {
    "build": {},
    "lint": {},
    "test": {}
  }
}
JSON
cat > "$root/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": {
    "rootDir": "src",
    "outDir": "dist",
    "tsBuildInfoFile": "dist/tsconfig.tsbuildinfo"
  },
  "include": ["src/**/*.ts"],
  "references": [$refs]
}
JSON
echo "created $root ($project_type, type:$type, scope:$scope)"
