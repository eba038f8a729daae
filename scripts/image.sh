#!/usr/bin/env bash
# drain's container image, written as an OCI image layout into DIR without a
# container daemon and without network: FROM scratch, the static drain
# binary (/usr/local/bin/drain, the entrypoint), a static cp for an
# initContainer that copies drain into a shared volume, the CA certificates
# of this machine, a non-root user (65532, nonroot); linux/amd64 and
# linux/arm64 in one image index tagged VERSION.
#
#   scripts/image.sh DIR [VERSION]      (VERSION default: dev)
#
# Push it with any OCI tool, e.g. skopeo copy --all oci:DIR:VERSION docker://ghcr.io/drain-cli/drain:VERSION
# or crane push DIR ghcr.io/drain-cli/drain:VERSION. The time stamps are the
# last commit's (or SOURCE_DATE_EPOCH): the same tree gives the same digests.
set -euo pipefail
dir=${1:?usage: scripts/image.sh DIR [VERSION]}
version=${2:-dev}
cd "$(dirname "$0")/.."
certs=${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt}
[ -r "$certs" ] || { echo "image: no CA certificates at $certs (Debian: apt-get install ca-certificates; or set CA_CERTIFICATES)" >&2; exit 2; }
date=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
args=()
for arch in amd64 arm64; do
  GOOS=linux GOARCH=$arch CGO_ENABLED=0 go build -trimpath -o "$build/drain-$arch" \
    -ldflags "-s -w -X github.com/drain-cli/drain/internal/cli.version=$version" ./cmd/drain
  GOOS=linux GOARCH=$arch CGO_ENABLED=0 go build -trimpath -o "$build/cp-$arch" -ldflags "-s -w" ./scripts/image/cp
  args+=(-bin "linux/$arch=$build/drain-$arch,$build/cp-$arch")
done
go run ./scripts/image -out "$dir" -version "$version" -certs "$certs" -date "$date" "${args[@]}"
echo "image: $dir (OCI image layout, linux/amd64 and linux/arm64, tag $version)"
