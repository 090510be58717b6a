"""Real-build tests on a Docker Engine: base image, artifact server, stand-in tools (marker ``e2e``)."""
