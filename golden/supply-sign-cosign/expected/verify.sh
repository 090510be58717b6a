# consumer side: verify the signature of the exact digest, then deploy that digest (never the tag)
: "${IMAGE_DIGEST:?IMAGE_DIGEST is not set (the digest that was signed)}"
IMAGE_REF=registry.example.com/team/app@"${IMAGE_DIGEST}"
cosign verify \
  --certificate-identity "${COSIGN_CERT_IDENTITY:?COSIGN_CERT_IDENTITY is not set (the signing workflow identity)}" \
  --certificate-oidc-issuer "${COSIGN_OIDC_ISSUER:-https://token.actions.githubusercontent.com}" \
  "$IMAGE_REF" > /dev/null || { echo "cosign: signature verification failed for $IMAGE_REF" >&2; exit 1; }
docker pull "$IMAGE_REF"
docker run --detach "$IMAGE_REF"
