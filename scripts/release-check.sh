#!/usr/bin/env bash
# Build a snapshot release the way .github/workflows/release.yml builds a
# tagged one (goreleaser, same .goreleaser.yaml, nothing published), then
# check what it made, as a user would meet it:
#
#   - checksums.txt matches every file;
#   - the .deb installs with dpkg -i, /usr/bin/drain runs and reports the
#     version, the man page and completions are in place; dpkg -r removes it;
#   - the .rpm lists the same (when rpm is installed);
#   - drain.exe from the Windows zip runs under Wine, has its version
#     resource, and its Authenticode signature verifies against the throwaway
#     certificate it was signed with (and not against another one);
#   - the winget manifests validate against Microsoft's schemas, the Scoop
#     manifest parses and its hashes match; the SBOMs are CycloneDX;
#   - the Chocolatey package (scripts/chocolatey) has a well-formed nuspec and
#     the zips' checksums, and its scripts parse (scripts/pscheck).
#
# Needs Go and network access to the Go module proxy and Debian's packages
# only; it installs goreleaser, cyclonedx-gomod, osslsigncode, Wine. Runs as
# root (dpkg -i into the system; sudo otherwise). scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

GORELEASER_VERSION=v2.15.1
CYCLONEDX_VERSION=v1.10.0
ACTIONLINT_VERSION=v1.7.12
t0=$SECONDS
say() { printf 'release-check: %s\n' "$*"; }
fail() { printf 'release-check: FAIL: %s\n' "$*" >&2; exit 1; }
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)

# Tools, pinned. goreleaser and cyclonedx-gomod come from the Go module proxy.
gobin=$(go env GOPATH)/bin
export PATH=$gobin:$PATH
if ! goreleaser --version 2>/dev/null | grep -q "${GORELEASER_VERSION#v}"; then
  say "installing goreleaser $GORELEASER_VERSION (a few minutes the first time)"
  go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION"
fi
if ! go version -m "$gobin/cyclonedx-gomod" 2>/dev/null | grep -q "mod.*$CYCLONEDX_VERSION"; then
  go install "github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@$CYCLONEDX_VERSION"
fi
if ! actionlint -version 2>/dev/null | grep -q "${ACTIONLINT_VERSION#v}"; then
  go install "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
need=()
command -v osslsigncode >/dev/null || need+=(osslsigncode)
command -v unzip >/dev/null || need+=(unzip)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The workflows that run this and publish the release (shellcheck runs on
# their scripts when it is installed).
actionlint .github/workflows/*.yml || fail "actionlint: .github/workflows"
say "ok actionlint .github/workflows"

work=$(mktemp -d /tmp/drain-release-check.XXXXXX)
installed=
own_wine=
cleanup() {
  if [ -n "$installed" ]; then "${sudo[@]}" dpkg -r drain >/dev/null 2>&1 || true; fi
  if [ -n "$own_wine" ]; then wineserver -k 2>/dev/null || true; rm -rf "$WINEPREFIX"; fi
  rm -rf "$work"
  # goreleaser's before-hook made them for drain.exe; a later plain go build
  # for Windows should not pick up a snapshot's version resource.
  rm -f cmd/drain/rsrc_windows_amd64.syso cmd/drain/rsrc_windows_arm64.syso
}
trap cleanup EXIT

# A throwaway code-signing certificate: the release workflow passes the real
# one the same way (DRAIN_SIGN_CERT, DRAIN_SIGN_KEY; scripts/release/sign.sh).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$work/key.pem" -out "$work/cert.pem" \
  -subj "/CN=drain release-check throwaway/O=drain-cli" -addext "extendedKeyUsage=codeSigning" 2>/dev/null
export DRAIN_SIGN_CERT=$work/cert.pem DRAIN_SIGN_KEY=$work/key.pem
unset DRAIN_SIGN DRAIN_SIGN_PASS DRAIN_SIGN_TIMESTAMP_URL

mkdir -p .tmp
log=.tmp/release-check-goreleaser.log
say "goreleaser release --snapshot --clean (log: $log)"
t1=$SECONDS
# --snapshot: no tag needed, nothing published or announced.
if ! goreleaser release --snapshot --clean >"$log" 2>&1; then
  tail -40 "$log"
  fail "goreleaser release --snapshot failed"
fi
say "goreleaser took $((SECONDS - t1))s"
version=$(grep -o '"version":"[^"]*"' dist/metadata.json | head -1 | cut -d'"' -f4)
[ -n "$version" ] || fail "no version in dist/metadata.json"
say "snapshot version $version"

(cd dist && sha256sum --quiet -c checksums.txt) || fail "checksums.txt does not match dist/"
say "ok checksums.txt ($(wc -l <dist/checksums.txt) files)"

# --- deb: install into the system, run it, find its man page, remove it.
debs=(dist/*_amd64.deb)
[ -f "${debs[0]}" ] || fail "no amd64 .deb in dist/"
deb=${debs[0]}
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/drain ./usr/share/man/man1/drain.1.gz ./usr/share/man/man1/drain-run.1.gz \
  ./usr/share/bash-completion/completions/drain ./usr/share/zsh/vendor-completions/_drain \
  ./usr/share/fish/vendor_completions.d/drain.fish; do
  grep -q " $f\$" <<<"$contents" || fail "$deb has no $f"
done
for attempt in $(seq 60); do # another apt or dpkg run may hold the lock
  if out=$("${sudo[@]}" dpkg -i "$deb" 2>&1); then break; fi
  if ! grep -qi lock <<<"$out" || [ "$attempt" = 60 ]; then printf '%s\n' "$out"; fail "dpkg -i $deb"; fi
  sleep 5
done
installed=1
got=$(/usr/bin/drain --version)
[ "$got" = "drain $version" ] || fail "/usr/bin/drain --version says '$got', want 'drain $version'"
dpkg -L drain | grep -qx /usr/share/man/man1/drain.1.gz || fail "dpkg -L drain lists no man page"
if grep -rqs '^path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/; then
  # A minimized image (Docker's) keeps dpkg from writing man pages: read the
  # one the package carries instead.
  dpkg-deb -x "$deb" "$work/deb"
  page=$work/deb/usr/share/man/man1/drain.1.gz
elif command -v man >/dev/null && [ -x /usr/bin/mandb ]; then
  page=$(man -w drain) || fail "man -w drain finds no page"
else
  page=/usr/share/man/man1/drain.1.gz
fi
zcat "$page" | grep -q '^\.TH "DRAIN" "1"' || fail "$page is not drain's man page"
say "ok $deb: dpkg -i, '$got', man page $page"
"${sudo[@]}" dpkg -r drain >/dev/null
installed=
[ ! -e /usr/bin/drain ] || fail "dpkg -r drain left /usr/bin/drain"

# --- rpm: its metadata and file list (rpm is optional on Debian).
rpms=(dist/*.x86_64.rpm)
[ -f "${rpms[0]}" ] || fail "no x86_64 .rpm in dist/"
if command -v rpm >/dev/null; then
  rpm -qip "${rpms[0]}" | grep -q '^Name *: drain' || fail "${rpms[0]}: not the drain package"
  rpm -qlp "${rpms[0]}" | grep -qx /usr/share/man/man1/drain.1.gz || fail "${rpms[0]} has no man page"
  say "ok ${rpms[0]}: rpm -qip, man page listed"
else
  say "rpm not installed: ${rpms[0]} built, not inspected"
fi

# --- Windows: the zip as a user unpacks it.
mkdir -p "$work/win"
unzip -q "dist/drain_${version}_windows_amd64.zip" -d "$work/win"
exe=$work/win/drain.exe
[ -f "$exe" ] || fail "the Windows zip has no drain.exe at its top"
if [ ! -f "$work/win/man/drain.1.gz" ] || [ ! -f "$work/win/completions/_drain" ]; then fail "the zip lacks man/ or completions/"; fi
# PowerShell's completion, the one a Windows user loads (. .\completions\drain.ps1).
grep -q '^# powershell completion for drain' "$work/win/completions/drain.ps1" 2>/dev/null || fail "the Windows zip has no completions/drain.ps1"
go run ./scripts/releasecheck pe "$exe" "$version"
osslsigncode verify -CAfile "$DRAIN_SIGN_CERT" -in "$exe" >"$work/verify.log" 2>&1 || {
  cat "$work/verify.log"
  fail "drain.exe: Authenticode signature does not verify"
}
grep -q 'Signature verification: ok' "$work/verify.log" || { cat "$work/verify.log"; fail "drain.exe: no 'Signature verification: ok'"; }
# The verification means something only if another certificate fails it.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout "$work/other.key" -out "$work/other.pem" \
  -subj "/CN=someone else" 2>/dev/null
if osslsigncode verify -CAfile "$work/other.pem" -in "$exe" >/dev/null 2>&1; then
  fail "drain.exe verifies against a certificate it was not signed with"
fi
unzip -q "dist/drain_${version}_windows_arm64.zip" drain.exe -d "$work/arm64"
osslsigncode verify -CAfile "$DRAIN_SIGN_CERT" -in "$work/arm64/drain.exe" >/dev/null 2>&1 || fail "arm64 drain.exe: signature does not verify"
go run ./scripts/releasecheck pe "$work/arm64/drain.exe" "$version"
say "ok drain.exe (amd64, arm64): Authenticode signature verifies"

# A prefix of our own unless the caller has a live one (scripts/test.sh
# removes its prefix after its Wine step but leaves WINEPREFIX set).
if [ -z "${WINEPREFIX:-}" ] || [ ! -d "$WINEPREFIX" ]; then own_wine=1; fi
eval "$(scripts/wine/setup.sh)"
got=$(wine "$exe" --version </dev/null | tr -d '\r')
[ "$got" = "drain $version" ] || fail "drain.exe --version under Wine says '$got', want 'drain $version'"
say "ok drain.exe under Wine: '$got'"

# --- Package manager manifests and SBOMs.
go run ./scripts/releasecheck winget dist/winget packaging/winget/schema "$version" dist/checksums.txt
go run ./scripts/releasecheck scoop dist/scoop/drain.json dist/checksums.txt "$version"
# The Chocolatey package as the release workflow writes it: checksums filled
# in from checksums.txt and equal to the zips'; its scripts parse.
go run ./scripts/chocolatey -version "$version" -checksums dist/checksums.txt -out dist/chocolatey
go run ./scripts/releasecheck chocolatey dist/chocolatey dist/checksums.txt "$version"
if [ -d scripts/pscheck/node_modules/web-tree-sitter ] && command -v node >/dev/null; then
  node scripts/pscheck/parse.cjs dist/chocolatey/tools/*.ps1 || fail "the Chocolatey package's scripts do not parse"
fi
sboms=(dist/*.cdx.json)
[ "${#sboms[@]}" = 6 ] || fail "want 6 SBOMs (one per binary), found ${#sboms[@]}"
go run ./scripts/releasecheck sbom "${sboms[@]}"

say "all release checks passed in $((SECONDS - t0))s"
