#!/bin/sh
set -e
podman build --secret id=npm_token,env=NPM_TOKEN -t app .
