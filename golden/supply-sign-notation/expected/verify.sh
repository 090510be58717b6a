# consumer side: verify the signature of the exact digest, then deploy that digest (never the tag)
# needs a trust store and trust policy (notation cert add, notation policy import)
: "${IMAGE_DIGEST:?IMAGE_DIGEST is not set (the digest that was signed)}"
IMAGE_REF=registry.example.com/team/app@"${IMAGE_DIGEST}"
notation verify "$IMAGE_REF" > /dev/null || { echo "notation: signature verification failed for $IMAGE_REF" >&2; exit 1; }
docker pull "$IMAGE_REF"
docker run --detach "$IMAGE_REF"
