#!/usr/bin/env bash
set -euo pipefail
# OLD_NPM_TOKEN is no longer declared by the Dockerfile: a stale caller
docker build \
  --secret id=artifactory_api_key,env=ARTIFACTORY_API_KEY \
  --build-arg OLD_NPM_TOKEN="$OLD_NPM_TOKEN" \
  --build-arg HTTP_PROXY \
  -t lib .
