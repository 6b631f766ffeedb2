#!/bin/sh
# tests/golden/run.sh - golden tests for "nfqwall check" and the compiled
# table it dumps (as pfctl keeps its regress outputs).
#
# For every tests/golden/bad/NAME.yaml, "nfqwall check" must print exactly
# tests/golden/bad/NAME.err and exit 1; for every tests/golden/good/NAME.yaml,
# exactly tests/golden/good/NAME.out and exit 0. The script runs from the
# repository root, because file names in the expected output are relative to
# it. NFQWALL selects the binary, relative to the root (default
# $O/nfqwall, O defaulting to build). Prints "ok - NAME" or "not ok - NAME"
# per case (with a diff on failure), then "N passed, N failed"; exits 1 if
# any case failed.
#
# Explain: for every tests/golden/explain/NAME.args (one line: the arguments
# of "nfqwall explain", as shell words, so a quoted packet stays one word),
# stdout and stderr together, then a line "exit N", must be exactly
# tests/golden/explain/NAME.out. UPDATE=1 rewrites these too.
#
# A case with a NAME.args file (one line: the arguments, e.g.
# "--allow-unknown-fields -") runs "nfqwall check ARGS" with NAME.yaml on
# standard input instead, so "-" reads it from there.
#
# To add a case: write NAME.yaml, run "build/nfqwall check tests/golden/bad/NAME.yaml
# > tests/golden/bad/NAME.err" (or good/ and .out) and check every line by eye.
#
# Compiled tables: for every tests/golden/tables/NAME.args (one line: the
# arguments, e.g. "--node n1 tests/golden/tables/NAME.yaml"), "nfqwall check
# --dump-table ARGS" must print exactly tests/golden/tables/NAME.table on
# stdout (the diagnostics go to stderr and are not compared) and exit 0.
# Every change to the compiler's output shows as a diff here, as in pfctl's
# regress tests. To add a case, write NAME.args (and NAME.yaml); to accept a
# change on purpose, regenerate the expected files with
#   UPDATE=1 sh tests/golden/run.sh
# which rewrites every tables/NAME.table (only those: the other cases are
# run as usual), then read "git diff tests/golden/tables" line by line.

cd "$(dirname "$0")/../.." || exit 1
NFQWALL=${NFQWALL:-${O:-build}/nfqwall}
dir=tests/golden
pass=0
fail=0
tmp=$(mktemp "${TMPDIR:-/tmp}/nfqwall-golden.XXXXXX") || exit 1
trap 'rm -f "$tmp" "$tmp.err"' EXIT INT TERM

if [ ! -x "$NFQWALL" ]; then
	echo "golden: $NFQWALL is not executable (run make first)" >&2
	exit 1
fi

# run_case KIND YAML EXPECTED WANT_RC
run_case() {
	name="$1/$(basename "$2" .yaml)"
	if [ ! -f "$3" ]; then
		echo "not ok - $name (missing $3)"
		fail=$((fail + 1))
		return
	fi
	if [ -f "${2%.yaml}.args" ]; then
		# shellcheck disable=SC2046 # the arguments are words, on purpose
		"$NFQWALL" check $(cat "${2%.yaml}.args") <"$2" >"$tmp" 2>/dev/null
	else
		"$NFQWALL" check "$2" >"$tmp" 2>/dev/null
	fi
	rc=$?
	if [ "$rc" -eq "$4" ] && cmp -s "$3" "$tmp"; then
		echo "ok - $name"
		pass=$((pass + 1))
		return
	fi
	echo "not ok - $name"
	[ "$rc" -eq "$4" ] || echo "#   exit status $rc, expected $4"
	diff -u "$3" "$tmp" | sed 's/^/#   /'
	fail=$((fail + 1))
}

for f in "$dir"/bad/*.yaml; do
	[ -e "$f" ] || continue
	run_case bad "$f" "${f%.yaml}.err" 1
done
for f in "$dir"/good/*.yaml; do
	[ -e "$f" ] || continue
	run_case good "$f" "${f%.yaml}.out" 0
done

# table_case ARGS_FILE: the compiled table for its arguments.
table_case() {
	name="tables/$(basename "$1" .args)"
	want="${1%.args}.table"
	# shellcheck disable=SC2046 # the arguments are words, on purpose
	"$NFQWALL" check --dump-table $(cat "$1") >"$tmp" 2>/dev/null
	rc=$?
	if [ "${UPDATE:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
		cp "$tmp" "$want"
		echo "ok - $name (updated $want)"
		pass=$((pass + 1))
		return
	fi
	if [ ! -f "$want" ]; then
		echo "not ok - $name (missing $want; UPDATE=1 writes it)"
		fail=$((fail + 1))
		return
	fi
	if [ "$rc" -eq 0 ] && cmp -s "$want" "$tmp"; then
		echo "ok - $name"
		pass=$((pass + 1))
		return
	fi
	echo "not ok - $name"
	[ "$rc" -eq 0 ] || echo "#   exit status $rc, expected 0"
	diff -u "$want" "$tmp" | sed 's/^/#   /'
	fail=$((fail + 1))
}

for f in "$dir"/tables/*.args; do
	[ -e "$f" ] || continue
	table_case "$f"
done

# explain_case ARGS_FILE: what explain says for its arguments.
explain_case() {
	name="explain/$(basename "$1" .args)"
	want="${1%.args}.out"
	args=$(cat "$1")
	eval "set -- $args"
	"$NFQWALL" explain "$@" >"$tmp" 2>&1
	echo "exit $?" >>"$tmp"
	if [ "${UPDATE:-0}" = 1 ]; then
		cp "$tmp" "$want"
		echo "ok - $name (updated $want)"
		pass=$((pass + 1))
		return
	fi
	if [ -f "$want" ] && cmp -s "$want" "$tmp"; then
		echo "ok - $name"
		pass=$((pass + 1))
		return
	fi
	echo "not ok - $name"
	[ -f "$want" ] || echo "#   missing $want (UPDATE=1 writes it)"
	[ -f "$want" ] && diff -u "$want" "$tmp" | sed 's/^/#   /'
	fail=$((fail + 1))
}

for f in "$dir"/explain/*.args; do
	[ -e "$f" ] || continue
	explain_case "$f"
done

# Replay: for every tests/golden/replay/NAME.args (one line: the arguments of
# "nfqwall replay", paths relative to the root), stdout must be exactly NAME.out,
# stderr exactly NAME.err when that file exists, and the exit status the number
# in NAME.rc. UPDATE=1 rewrites NAME.out and NAME.err of every replay case too.
replay_case() {
	name="replay/$(basename "$1" .args)"
	base=${1%.args}
	# shellcheck disable=SC2046 # the arguments are words, on purpose
	"$NFQWALL" replay $(cat "$1") >"$tmp" 2>"$tmp.err"
	rc=$?
	want_rc=$(cat "$base.rc" 2>/dev/null)
	if [ "${UPDATE:-0}" = 1 ] && [ "$rc" = "$want_rc" ]; then
		cp "$tmp" "$base.out"
		[ ! -f "$base.err" ] || cp "$tmp.err" "$base.err"
		echo "ok - $name (updated)"
		pass=$((pass + 1))
		return
	fi
	if [ "$rc" = "$want_rc" ] && cmp -s "$base.out" "$tmp" &&
	   { [ ! -f "$base.err" ] || cmp -s "$base.err" "$tmp.err"; }; then
		echo "ok - $name"
		pass=$((pass + 1))
		return
	fi
	echo "not ok - $name"
	[ "$rc" = "$want_rc" ] || echo "#   exit status $rc, expected $want_rc"
	diff -u "$base.out" "$tmp" | sed 's/^/#   /'
	[ ! -f "$base.err" ] || diff -u "$base.err" "$tmp.err" | sed 's/^/#   /'
	fail=$((fail + 1))
}

for f in "$dir"/replay/*.args; do
	[ -e "$f" ] || continue
	replay_case "$f"
done
rm -f "$tmp.err"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
