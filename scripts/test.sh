#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script).
# On a fresh Debian machine with Go it installs what the tests need (nginx,
# golangci-lint), then runs formatting and lint checks, cross builds, the unit,
# CLI (testscript) and end-to-end tests, and short fuzzing runs.
#
#   scripts/test.sh            everything
#   FUZZTIME=2m scripts/test.sh   longer fuzzing
#   SKIP_LINT=1 scripts/test.sh   no golangci-lint (faster local loop)
set -euo pipefail
cd "$(dirname "$0")/.."

GOLANGCI_VERSION=v2.6.2
FUZZTIME=${FUZZTIME:-5s}
step() { printf '\n== %s ==\n' "$*"; }

step "Install test dependencies"
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
# nginx-light from Debian starts a system nginx on port 80; the tests start
# their own on 127.0.0.1, so the system one is not needed.
echo "nginx: $( (nginx -v || /usr/sbin/nginx -v) 2>&1)"

step "gofmt"
unformatted=$(gofmt -l cmd internal scripts)
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi

step "go vet (linux, windows, darwin)"
for os in linux windows darwin; do GOOS=$os go vet ./...; done

if [ -z "${SKIP_LINT:-}" ]; then
  step "golangci-lint $GOLANGCI_VERSION"
  lint=$(go env GOPATH)/bin/golangci-lint
  if ! "$lint" version 2>/dev/null | grep -q "${GOLANGCI_VERSION#v}"; then
    go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_VERSION"
  fi
  for os in linux windows; do GOOS=$os "$lint" run ./...; done
fi

step "Cross builds"
for target in linux/amd64 linux/arm64 windows/amd64 windows/arm64 darwin/amd64 darwin/arm64; do
  GOOS=${target%/*} GOARCH=${target#*/} CGO_ENABLED=0 go build -o /dev/null ./cmd/drain
  echo "ok $target"
done

step "Tests (unit, CLI scripts, end-to-end with nginx)"
DRAIN_E2E=require go test -race -count=1 ./...

step "Windows code under Wine (IIS built-ins, Event Log, keep-alive rename)"
# scripts/wine/setup.sh prepares the prefix in $WINEPREFIX (wine packages,
# wineboot, the bcryptprimitives.dll forwarder Go needs on Wine 8); without
# it, an already prepared prefix given in WINEPREFIX is used as is.
if [ -x scripts/wine/setup.sh ] || { [ -n "${WINEPREFIX:-}" ] && command -v wine >/dev/null 2>&1; }; then
  export WINEPREFIX=${WINEPREFIX:-/tmp/drain-wine} WINEDEBUG=-all
  unset DISPLAY
  if [ -x scripts/wine/setup.sh ]; then scripts/wine/setup.sh; fi
  wtest() { GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -count=1 -exec wine "$@"; }
  wtest ./internal/action/ ./internal/auditlog/
  # Only the Windows-specific rename tests: the portable ones use t.TempDir,
  # whose cleanup fails under Wine 8 (os.RemoveAll: "Invalid function").
  wtest -run 'Held|Released' ./internal/rotation/
else
  echo "skipped: no scripts/wine/setup.sh and no WINEPREFIX with wine installed"
fi

step "Fuzzing ($FUZZTIME per target)"
for pkg in $(go list ./...); do
  for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    go test -run='^$' -fuzz="^$f\$" -fuzztime="$FUZZTIME" "$pkg" >/dev/null
    echo "ok $f"
  done
done

step "Shell scripts"
for s in scripts/*.sh .ci/run; do bash -n "$s"; done
if command -v shellcheck >/dev/null 2>&1; then shellcheck scripts/*.sh .ci/run; fi

echo
echo "all tests passed"
