# after the push: sign the pushed digest with notation, never the tag (a tag can move)
# IMAGE_DIGEST is the digest the push reported, e.g. with
#   docker buildx build --push --metadata-file build-meta.json ...
#   IMAGE_DIGEST="$(jq -r '."containerimage.digest"' build-meta.json)"
# uses notation's default signing key (notation key ls); add --key NAME for another
: "${IMAGE_DIGEST:?IMAGE_DIGEST is not set (the digest the push reported)}"
notation sign registry.example.com/team/app@"${IMAGE_DIGEST}"
