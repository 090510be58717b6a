# after the push: sign the pushed digest with cosign (>= 2), never the tag (a tag can move)
# IMAGE_DIGEST is the digest the push reported, e.g. with
#   docker buildx build --push --metadata-file build-meta.json ...
#   IMAGE_DIGEST="$(jq -r '."containerimage.digest"' build-meta.json)"
: "${IMAGE_DIGEST:?IMAGE_DIGEST is not set (the digest the push reported)}"
cosign sign --yes --key env://COSIGN_PRIVATE_KEY ghcr.io/acme/server@"${IMAGE_DIGEST}"
