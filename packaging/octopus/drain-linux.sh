# drain - take this server out of rotation, wait until idle, run the action
# (the Bash script of the Octopus step template drain-linux.json; the
# template's ScriptBody is this file, and internal/e2e/octopus_test.go
# checks they are the same and runs it with Octopus's get_octopusvariable /
# set_octopusvariable / fail_step stood in).
#
# Parameters (Octopus variables): Drain.Command (run, out or in),
# Drain.Rotate, Drain.Sources and Drain.Action (one entry per line; the
# action is an argument vector, no shell), Drain.VerifyUrl, Drain.LbGrace,
# Drain.Settle, Drain.Timeout, Drain.MinInRotation, Drain.Reason,
# Drain.Version and Drain.BaseUrl (install drain if it is not on PATH).
# Output variables: DrainResult, DrainRotation, DrainExitCode.
set -uo pipefail

ov() { get_octopusvariable "$1" 2>/dev/null || true; }
lines() { # VAR FLAG: one --FLAG=LINE per non-empty line of the variable
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    [ -n "$line" ] && args+=("--$2=$line")
  done <<<"$(ov "$1")"
}

command=$(ov Drain.Command)
command=${command:-run}
case "$command" in run|out|in) ;; *) fail_step "Drain.Command must be run, out or in, not '$command'" ;; esac

drain=$(command -v drain || true)
version=$(ov Drain.Version)
version=${version#v}
if [ -z "$drain" ] && [ -n "$version" ] && [ -x "${HOME:-/tmp}/.drain/$version/drain" ]; then
  drain="${HOME:-/tmp}/.drain/$version/drain" # installed by an earlier step
fi
if [ -z "$drain" ]; then
  base=$(ov Drain.BaseUrl)
  base=${base:-https://github.com/drain-cli/drain/releases/download}
  base=${base%/}
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] ||
    fail_step "drain is not on PATH: set Drain.Version (e.g. 1.2.3) to install it"
  case "$(uname -m)" in x86_64|amd64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) fail_step "unsupported architecture $(uname -m)" ;; esac
  name="drain_${version}_linux_${arch}.tar.gz"
  dir="${HOME:-/tmp}/.drain/$version"
  tmp=$(mktemp -d)
  if ! { curl -fsSL --retry 3 -o "$tmp/checksums.txt" "$base/v$version/checksums.txt" &&
    curl -fsSL --retry 3 -o "$tmp/$name" "$base/v$version/$name"; }; then
    rm -rf "$tmp"
    fail_step "could not download drain $version from $base"
  fi
  want=$(awk -v f="$name" '$2 == f { print $1; exit }' "$tmp/checksums.txt")
  got=$(sha256sum "$tmp/$name" | awk '{print $1}')
  if [[ ! "$want" =~ ^[0-9a-f]{64}$ ]] || [ "$got" != "$want" ]; then
    rm -rf "$tmp"
    fail_step "checksum mismatch for $name (checksums.txt: ${want:-not listed}, download: $got): drain not installed"
  fi
  if ! { mkdir -p "$dir" && tar -xzf "$tmp/$name" -C "$tmp" drain && install -m 0755 "$tmp/drain" "$dir/drain"; }; then
    rm -rf "$tmp"
    fail_step "could not unpack $name into $dir"
  fi
  rm -rf "$tmp"
  drain="$dir/drain"
  echo "installed drain $version into $dir (SHA-256 $got)"
fi

args=("$command" --output json --ci off)
lines Drain.Rotate rotate
[ "$command" = run ] && lines Drain.Sources source
for pair in VerifyUrl:verify-url Timeout:timeout Reason:reason; do
  v=$(ov "Drain.${pair%%:*}")
  [ -n "$v" ] && args+=("--${pair#*:}=$v")
done
if [ "$command" = run ]; then
  for pair in LbGrace:lb-grace Settle:settle; do
    v=$(ov "Drain.${pair%%:*}")
    [ -n "$v" ] && args+=("--${pair#*:}=$v")
  done
fi
if [ "$command" != in ]; then
  v=$(ov Drain.MinInRotation)
  [ -n "$v" ] && [ "$v" != 0 ] && args+=("--min-in-rotation=$v")
fi
[ "$command" = in ] && args+=(--wait-healthy)
if [ "$command" = run ]; then
  action=()
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    [ -n "$line" ] && action+=("$line")
  done <<<"$(ov Drain.Action)"
  [ ${#action[@]} -gt 0 ] && args+=(-- "${action[@]}")
fi

out=$(mktemp)
"$drain" "${args[@]}" >"$out"
code=$?
result_line=$(grep '"event":"result"' "$out" | tail -n 1)
field() { printf '%s' "$result_line" | sed -n "s/.*\"$1\":\"\\([A-Za-z-]*\\)\".*/\\1/p"; }
result=$(field result)
rotation=$(field rotation)
rm -f "$out"
set_octopusvariable "DrainResult" "${result:-unknown}"
set_octopusvariable "DrainRotation" "${rotation:-UNKNOWN}"
set_octopusvariable "DrainExitCode" "$code"
echo "drain $command: ${result:-no result} (exit $code); server is ${rotation:-UNKNOWN} rotation"
if [ "$code" -ne 0 ]; then
  fail_step "drain $command failed: ${result:-no result} (exit $code); server is ${rotation:-UNKNOWN} rotation"
fi
