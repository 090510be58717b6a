#!/bin/sh
set -e
curl -fsS -H "PRIVATE-TOKEN: $DEPLOY_TOKEN" -o /app/assets.tgz https://gitlab.example.com/api/v4/projects/1/packages/generic/assets/1.0/assets.tgz
