#!/usr/bin/env bash
# Publish the image scripts/image.sh wrote (an OCI image layout) to a
# registry, without a container daemon: skopeo copies the multi-arch image
# index and both platforms' manifests and blobs byte for byte
# (--preserve-digests), then reads the index back from the registry and
# checks its digest is the layout's. Extra tags (latest) point at the same
# index.
#
#   scripts/publish-image.sh LAYOUT VERSION IMAGE [EXTRA_TAG...]
#   scripts/publish-image.sh "$RUNNER_TEMP/image" 1.2.3 ghcr.io/drain-cli/drain latest
#
# Log in first (skopeo login REGISTRY). DRAIN_REGISTRY_TLS_VERIFY=false talks
# plain HTTP to a registry on 127.0.0.1 (the test, internal/e2e/image_test.go).
# .github/workflows/release.yml runs it on a version tag.
set -euo pipefail
usage="usage: scripts/publish-image.sh LAYOUT VERSION IMAGE [EXTRA_TAG...]"
layout=${1:?$usage}
version=${2:?$usage}
image=${3:?$usage}
shift 3
fail() { printf 'publish-image: %s\n' "$*" >&2; exit "${2:-1}"; }
tag_ok() { [[ $1 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]]; }
tag_ok "$version" || fail "not an image tag: $version (hint: a release version such as 1.2.3)" 2
for t in "$@"; do tag_ok "$t" || fail "not an image tag: $t" 2; done
[[ $image =~ ^[a-z0-9.:-]+(/[a-z0-9._-]+)+$ ]] || fail "not an image name: $image (hint: REGISTRY/OWNER/NAME, lower case, no tag)" 2
[ -f "$layout/index.json" ] || fail "$layout is not an OCI image layout (no index.json; hint: scripts/image.sh $layout $version)" 2
command -v skopeo >/dev/null || fail "skopeo not found (hint: apt-get install skopeo)" 2

# The digest of the image index tagged VERSION in the layout: what the
# registry must serve under every tag.
want=$(python3 - "$layout/index.json" "$version" <<'EOF'
import json, sys
index = json.load(open(sys.argv[1]))
for m in index.get("manifests", []):
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == sys.argv[2]:
        print(m["digest"])
        break
EOF
)
[ -n "$want" ] || fail "$layout has no image tagged $version (hint: scripts/image.sh $layout $version)" 2

tls=${DRAIN_REGISTRY_TLS_VERIFY:-true}
for tag in "$version" "$@"; do
  skopeo copy --quiet --all --preserve-digests --dest-tls-verify="$tls" \
    "oci:$layout:$version" "docker://$image:$tag"
  got=sha256:$(skopeo inspect --raw --tls-verify="$tls" "docker://$image:$tag" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "$image:$tag is $got after the copy, want the layout's $want"
  echo "publish-image: $image:$tag = $want"
done
