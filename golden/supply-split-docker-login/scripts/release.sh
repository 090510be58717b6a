#!/bin/sh
set -eu
IMAGE=registry.example.com/team/app
echo "$REGISTRY_PASSWORD" | docker login --username deploy --password-stdin registry.example.com
docker tag "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA" "$IMAGE:$CI_COMMIT_TAG"
docker push "$IMAGE:$CI_COMMIT_TAG"
