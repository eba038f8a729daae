#!/usr/bin/env bash
# Authenticode-sign a Windows binary in place with osslsigncode (goreleaser
# runs it after each Windows build, before the zip and the checksums).
#
#   DRAIN_SIGN_CERT=cert.pem DRAIN_SIGN_KEY=key.pem scripts/release/sign.sh dist/.../drain.exe
#
# Environment:
#   DRAIN_SIGN_CERT, DRAIN_SIGN_KEY  certificate (chain) and private key, PEM or DER;
#                                    the release workflow writes them from secrets
#   DRAIN_SIGN_PASS                  the key's passphrase, if it has one
#   DRAIN_SIGN_TIMESTAMP_URL         an RFC 3161 timestamp server (real releases)
#   DRAIN_SIGN=skip                  build unsigned (a local snapshot without a key)
# Anything else, and a missing key in particular, is an error: a release is
# never unsigned by accident.
set -euo pipefail
exe=${1:?usage: sign.sh FILE.exe}
case $exe in
  *.exe) ;;
  *) echo "sign.sh: $exe is not a .exe" >&2; exit 2 ;;
esac
if [ "${DRAIN_SIGN:-}" = skip ]; then
  echo "sign.sh: DRAIN_SIGN=skip: $exe left unsigned" >&2
  exit 0
fi
if [ -z "${DRAIN_SIGN_CERT:-}" ] || [ -z "${DRAIN_SIGN_KEY:-}" ]; then
  echo "sign.sh: no signing key: set DRAIN_SIGN_CERT and DRAIN_SIGN_KEY (or DRAIN_SIGN=skip for an unsigned local build)" >&2
  exit 1
fi
command -v osslsigncode >/dev/null || { echo "sign.sh: osslsigncode not found (apt-get install osslsigncode)" >&2; exit 1; }
args=(sign -certs "$DRAIN_SIGN_CERT" -key "$DRAIN_SIGN_KEY" -h sha256
  -n "drain" -i "https://github.com/drain-cli/drain")
[ -n "${DRAIN_SIGN_PASS:-}" ] && args+=(-pass "$DRAIN_SIGN_PASS")
[ -n "${DRAIN_SIGN_TIMESTAMP_URL:-}" ] && args+=(-ts "$DRAIN_SIGN_TIMESTAMP_URL")
tmp=$exe.signing
rm -f "$tmp"
osslsigncode "${args[@]}" -in "$exe" -out "$tmp" >/dev/null
mv -f "$tmp" "$exe"
echo "sign.sh: signed $exe"
