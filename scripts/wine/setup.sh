#!/usr/bin/env bash
# Prepare Wine to run drain's Windows code on Linux (see scripts/test.sh):
# install Wine and the mingw toolchain if missing, create a fresh WINEPREFIX
# headless, add the bcryptprimitives.dll forwarder without which Go >= 1.22
# binaries do not start on Wine 8, and replace the prefix's pdh.dll with the
# test stand-in built from scripts/wine/pdhstub.c.
#
# It prints the environment to use as shell assignments, so:
#   eval "$(scripts/wine/setup.sh)"
#   GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -exec wine ./...
# Everything else it says goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { printf '%s\n' "$*" >&2; }

need=()
command -v wine >/dev/null 2>&1 || need+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64-win32)
command -v x86_64-w64-mingw32-ld >/dev/null 2>&1 || need+=(binutils-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  # Another apt run on the same machine holds the lock for a while: wait.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${need[@]}" >&2
fi

export WINEPREFIX=${WINEPREFIX:-$(mktemp -d /tmp/drain-wine.XXXXXX)}
export WINEDEBUG=-all
# pdh.dll in system32 is our native stand-in: prefer it to Wine's builtin.
export WINEDLLOVERRIDES="pdh=n"
unset DISPLAY WAYLAND_DISPLAY

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  log "wineboot --init in $WINEPREFIX"
  wineboot --init </dev/null >&2 2>/dev/null
  wineserver -w
fi
sys32=$WINEPREFIX/drive_c/windows/system32

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# Go needs ProcessPrng from bcryptprimitives.dll, which Wine 8.0 lacks;
# advapi32's SystemFunction036 (RtlGenRandom) has the same signature.
printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng = advapi32.SystemFunction036\n' >"$build/b.def"
printf '' | x86_64-w64-mingw32-as -o "$build/e.o"
x86_64-w64-mingw32-ld --dll --entry=0 -o "$sys32/bcryptprimitives.dll" "$build/e.o" "$build/b.def"

x86_64-w64-mingw32-windmc -h "$build" -r "$build" "$here/pdhstub.mc" >&2
(cd "$build" && x86_64-w64-mingw32-windres -i pdhstub.rc -o msg.o)
x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -Werror -shared -static-libgcc -o "$build/pdh.dll" \
  "$here/pdhstub.c" "$build/msg.o" "$here/pdhstub.def"
cp "$build/pdh.dll" "$sys32/pdh.dll"
log "pdh.dll stand-in installed: $(x86_64-w64-mingw32-objdump -p "$sys32/pdh.dll" | grep -c '\] Pdh') exports"

# Go's os.RemoveAll (and so t.TempDir's cleanup) deletes with
# FileDispositionInformationEx and falls back to the old way only on the
# statuses Windows uses for "unsupported"; Wine 8.0 answers
# STATUS_NOT_IMPLEMENTED (0xC0000002) instead, so every removal of a
# non-empty directory fails with "Invalid function". A build overlay adds that
# status to the fallback list for test builds under Wine only.
at=$(go env GOROOT)/src/internal/syscall/windows/at_windows.go
overlay=$WINEPREFIX/go-overlay
mkdir -p "$overlay"
sed 's|^\t\tSTATUS_NOT_SUPPORTED: |\t\tNTStatus(0xC0000002), // STATUS_NOT_IMPLEMENTED (Wine)\n&|' "$at" >"$overlay/at_windows.go"
if cmp -s "$at" "$overlay/at_windows.go"; then
  log "setup.sh: cannot patch $at for Wine (Go changed?)"; exit 1
fi
printf '{"Replace":{"%s":"%s"}}\n' "$at" "$overlay/at_windows.go" >"$overlay/overlay.json"

printf 'export WINEPREFIX=%q WINEDEBUG=-all WINEDLLOVERRIDES=%q DRAIN_WINE=1 DRAIN_WINE_OVERLAY=%q\nunset DISPLAY WAYLAND_DISPLAY\n' \
  "$WINEPREFIX" "$WINEDLLOVERRIDES" "$overlay/overlay.json"
