#!/bin/sh
set -e
podman build --build-arg NPM_TOKEN -t app .
