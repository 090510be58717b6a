#!/bin/sh
set -e
docker build --secret id=npm_token,env=NPM_TOKEN -t app .
# the same script also gives the token to the container: that must stay
docker run --rm -e NPM_TOKEN="$NPM_TOKEN" app
