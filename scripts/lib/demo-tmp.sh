# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/report-demo.sh: a temporary
# directory ($tmp) and the demo's background processes ($target_pid,
# $load_pid), all cleaned up however the script ends. Set demo_name (used in
# the temporary directory's name and messages) and keep_var (the variable
# that, set to 1, keeps the directory) before sourcing.
: "${demo_name:?set demo_name before sourcing}" "${keep_var:?set keep_var before sourcing}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drain-$demo_name.XXXXXX")
target_pid=""
load_pid=""

cleanup() {
	local rc=$?
	local pid
	for pid in "$load_pid" "$target_pid"; do
		if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	if [[ ${!keep_var:-} == 1 ]]; then
		echo "$demo_name: kept $tmp ($keep_var=1)"
	else
		rm -rf -- "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
