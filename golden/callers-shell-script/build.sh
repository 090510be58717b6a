#!/bin/sh
# Build the image. API_TOKEN is read from a file the CI runner provides.
set -eu
cd "$(dirname "$0")"
token=$(cat "${TOKEN_FILE:-/run/ci/api-token}")
docker build \
  --build-arg API_TOKEN="$token" \
  --build-arg APP_VERSION=1.4.2 \
  -t app:dev \
  .
# a passthrough build: docker reads API_TOKEN from the environment
docker build --build-arg API_TOKEN -t app:ci .
