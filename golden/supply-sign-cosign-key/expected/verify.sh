# consumer side: verify the signature of the exact digest, then deploy that digest (never the tag)
: "${IMAGE_DIGEST:?IMAGE_DIGEST is not set (the digest that was signed)}"
IMAGE_REF=ghcr.io/acme/server@"${IMAGE_DIGEST}"
cosign verify --key cosign.pub "$IMAGE_REF" > /dev/null || { echo "cosign: signature verification failed for $IMAGE_REF" >&2; exit 1; }
docker pull "$IMAGE_REF"
docker run --detach "$IMAGE_REF"
