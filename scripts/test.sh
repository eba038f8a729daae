#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this script).
# On a fresh Debian machine with Go it installs what the tests need (nginx,
# haproxy, apache2, tmux, chromium, golangci-lint), then runs formatting and lint checks, cross builds,
# the unit, CLI (testscript) and end-to-end tests, the Windows tests under
# Wine, and short fuzzing runs.
#
#   scripts/test.sh            everything
#   FUZZTIME=2m scripts/test.sh   longer fuzzing
#   SKIP_LINT=1 scripts/test.sh   no golangci-lint (faster local loop)
#   DRAIN_RELEASE_CHECK=1 scripts/test.sh   also build and check a release snapshot
set -euo pipefail
cd "$(dirname "$0")/.."

GOLANGCI_VERSION=v2.6.2
FUZZTIME=${FUZZTIME:-5s}
step() { printf '\n== %s ==\n' "$*"; }

step "Install test dependencies"
need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
# Apache httpd with mod_proxy_balancer: the apache rotation method's real
# balancer-manager (internal/e2e).
[ -x /usr/sbin/apache2 ] || need+=(apache2)
# Ansible (Debian's, with community.general) runs the rolls of examples/ansible (internal/e2e).
command -v ansible-playbook >/dev/null 2>&1 || need+=(ansible)
# The drain_cli.drain collection's sanity test runs validate-modules and
# pycodestyle with Debian's packages (ansible-test would fetch them with pip).
/usr/bin/python3 -c 'import voluptuous, pycodestyle' >/dev/null 2>&1 || need+=(python3-voluptuous python3-pycodestyle)
# skopeo publishes the container image and docker-registry (the CNCF
# distribution) is the real registry it is published to in the test
# (scripts/publish-image.sh, internal/e2e TestImage).
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
# Node runs tree-sitter's PowerShell grammar, the parse check of the
# Windows scripts (scripts/pscheck, internal/e2e).
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
# tmux is the real terminal the live view is captured from (internal/cli).
command -v tmux >/dev/null 2>&1 || need+=(tmux)
# Headless Chromium renders drain report's pictures (internal/report).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# windres builds the PE version resources scripts/releasecheck's tests parse.
command -v x86_64-w64-mingw32-windres >/dev/null 2>&1 || need+=(binutils-mingw-w64-x86-64)
{ command -v etcd && command -v etcdctl; } >/dev/null 2>&1 || need+=(etcd-server etcd-client) # the real etcd the pool-lock tests start, etcdctl reads it back (internal/etcdlock, internal/e2e)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi
# actionlint checks the GitHub Actions recipe in docs/rolling.md (internal/e2e).
command -v actionlint >/dev/null 2>&1 || [ -x "$(go env GOPATH)/bin/actionlint" ] || go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
[ -d scripts/pscheck/node_modules/web-tree-sitter ] || (cd scripts/pscheck && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
# nginx-light from Debian starts a system nginx on port 80; the tests start
# their own on 127.0.0.1, so the system one is not needed.
echo "nginx: $( (nginx -v || /usr/sbin/nginx -v) 2>&1)"
echo "haproxy: $( (haproxy -v || /usr/sbin/haproxy -v) 2>&1 | head -1)"
echo "apache2: $(/usr/sbin/apache2 -v 2>&1 | head -1)"
echo "tmux: $(tmux -V)"
echo "chromium: $(chromium --version 2>/dev/null | grep -m1 Chromium)"

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

step "Tests (unit, CLI scripts, end-to-end with nginx and HAProxy)"
# internal/e2e holds the Ansible rolls and real-server runs: more than go
# test's default 10 minutes on a loaded machine.
DRAIN_E2E=require go test -race -count=1 -timeout 25m ./...

step "Windows tests under Wine (stand-in pdh.dll)"
# The Windows code runs, not only compiles: every package's tests built for
# windows/amd64 run under Wine, then drain.exe drains on a pdh counter.
t0=$SECONDS
eval "$(scripts/wine/setup.sh)"
# One wineserver (and Wine's services) for the whole step, started here with
# stdio on /dev/null: otherwise the first test binary's wine starts them, they
# inherit that package's output pipe and hold it open while other packages
# run, and go test fails that package with "Test I/O incomplete 1m0s after
# exiting" (seen on internal/action under load). wineserver -k below ends it.
wineserver -p </dev/null >/dev/null 2>&1
wine cmd /c exit </dev/null >/dev/null 2>&1 || true
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -count=1 -overlay "$DRAIN_WINE_OVERLAY" -exec wine ./...
DRAIN_E2E=require-wine go test -count=1 -run '^TestWine' ./internal/e2e
wineserver -k || true
rm -rf "$WINEPREFIX"
echo "Wine step: $((SECONDS - t0))s"

if [ -n "${DRAIN_RELEASE_CHECK:-}" ]; then
  step "Release snapshot (scripts/release-check.sh)"
  # goreleaser builds every package as a tag would (nothing published); the
  # .deb is installed and run, drain.exe runs under Wine with its version
  # resource and a verified signature, the winget manifests validate.
  # Opt-in (the Linux workflow sets it): on a fresh machine building
  # goreleaser alone takes about 6 minutes and the cold snapshot about 4,
  # which would take .ci/run past its 25-minute budget.
  scripts/release-check.sh
fi

step "Fuzzing ($FUZZTIME per target)"
# A failure with a new input saved under testdata/fuzz is a bug found: fail.
# A failure without one is the fuzzing engine itself (seen once, not
# reproducible): show it and try that target once more.
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    for attempt in 1 2; do
      if out=$(go test -run='^$' -fuzz="^$f\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1); then
        echo "ok $f"
        break
      fi
      printf '%s\n' "$out" | tail -40
      if [ -n "$(git status --porcelain -- "$dir/testdata/fuzz/$f" 2>/dev/null)" ]; then
        echo "FAIL $f: crasher saved under $dir/testdata/fuzz/$f (commit it with the fix)"
        exit 1
      fi
      if [ "$attempt" = 2 ]; then echo "FAIL $f"; exit 1; fi
      echo "retrying $f: it failed without saving a crasher"
    done
  done
done

step "Shell scripts"
for s in scripts/*.sh scripts/wine/*.sh scripts/release/*.sh scripts/lib/*.sh examples/ansible/*.sh packaging/octopus/*.sh .ci/run; do bash -n "$s"; done
if command -v shellcheck >/dev/null 2>&1; then shellcheck scripts/*.sh scripts/wine/*.sh scripts/release/*.sh scripts/lib/*.sh examples/ansible/*.sh .ci/run; shellcheck -s bash packaging/octopus/*.sh; fi

echo
echo "all tests passed"
