#!/usr/bin/env bash
# Install a drain release on Linux or macOS: download the archive for this
# OS and architecture, verify its SHA-256 against the release's
# checksums.txt, put the binary in DIR. Used by the setup action
# (action.yml) and usable on its own:
#
#   scripts/install.sh [--version VERSION|latest] [--dir DIR] [--base-url URL]
#
#   --version   the release, 1.2.3 or v1.2.3 (default: latest)
#   --dir       where drain goes (default: /usr/local/bin, or ~/.local/bin when not root)
#   --base-url  where releases are: BASE/vVERSION/drain_VERSION_OS_ARCH.tar.gz and
#               BASE/vVERSION/checksums.txt; latest is what BASE/../latest redirects to
#               (default: https://github.com/drain-cli/drain/releases/download)
#
# A checksum that does not match, or an archive checksums.txt does not list,
# installs nothing (exit 1). Bad arguments: exit 2. On GitHub Actions it
# writes version= and path= to $GITHUB_OUTPUT.
set -euo pipefail

version=latest
base=https://github.com/drain-cli/drain/releases/download
dir=
if [ "$(id -u)" = 0 ]; then dir=/usr/local/bin; else dir="$HOME/.local/bin"; fi

die() { echo "install: $1" >&2; [ -n "${2:-}" ] && echo "hint: $2" >&2; exit "${3:-1}"; }
usage() { die "$1" "scripts/install.sh [--version VERSION|latest] [--dir DIR] [--base-url URL]" 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || usage "--version needs a value"; version=$2; shift 2 ;;
    --dir) [ $# -ge 2 ] || usage "--dir needs a value"; dir=$2; shift 2 ;;
    --base-url) [ $# -ge 2 ] || usage "--base-url needs a value"; base=${2%/}; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage "unknown argument: $1" ;;
  esac
done

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported OS $(uname -s)" "on Windows use scripts/install.ps1" 2 ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported architecture $(uname -m): drain is released for amd64 and arm64" "" 2 ;;
esac

fetch() { # URL FILE
  curl --proto '=https,http,file' -fsSL --retry 3 -o "$2" "$1" || die "could not download $1"
}

if [ "$version" = latest ]; then
  # The releases page redirects .../latest to .../tag/vVERSION.
  effective=$(curl -fsSL -o /dev/null -w '%{url_effective}' "${base%/download}/latest") ||
    die "could not find the latest release at ${base%/download}/latest" "pass --version"
  version=${effective##*/}
fi
version=${version#v}
# The version goes into a URL and file names: nothing but a version.
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] ||
  die "not a release version: $(printf '%q' "$version")" "e.g. --version 1.2.3" 2

name="drain_${version}_${os}_${arch}.tar.gz"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch "$base/v$version/checksums.txt" "$tmp/checksums.txt"
fetch "$base/v$version/$name" "$tmp/$name"

want=$(awk -v f="$name" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/checksums.txt")
[[ "$want" =~ ^[0-9a-f]{64}$ ]] || die "checksums.txt of v$version does not list $name" "" 1
if command -v sha256sum >/dev/null 2>&1; then
  got=$(sha256sum "$tmp/$name" | awk '{print $1}')
else
  got=$(shasum -a 256 "$tmp/$name" | awk '{print $1}')
fi
[ "$got" = "$want" ] || die "checksum mismatch for $name: checksums.txt says $want, the download is $got; nothing installed" "" 1

tar -xzf "$tmp/$name" -C "$tmp" drain || die "$name has no drain binary"
mkdir -p "$dir"
# Into place by rename: a drain running from DIR is not overwritten in place.
cp "$tmp/drain" "$dir/.drain.new"
chmod 0755 "$dir/.drain.new"
mv -f "$dir/.drain.new" "$dir/drain"
"$dir/drain" version >/dev/null || die "the installed $dir/drain does not run"
echo "install: drain $version ($os/$arch) in $dir, SHA-256 $got"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "version=$version"; echo "path=$dir/drain"; } >>"$GITHUB_OUTPUT"
fi
