#!/bin/sh
# Build the image. API_TOKEN is read from a file the CI runner provides.
set -eu
cd "$(dirname "$0")"
token=$(cat "${TOKEN_FILE:-/run/ci/api-token}")
API_TOKEN="$token" docker build \
  --secret id=api_token,env=API_TOKEN \
  --build-arg APP_VERSION=1.4.2 \
  -t app:dev \
  .
# a passthrough build: docker reads API_TOKEN from the environment
docker build --secret id=api_token,env=API_TOKEN -t app:ci .
