#!/bin/sh
# tests/golden/run.sh - golden tests for "nfqwall check" (STYLE.md §3.8).
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
# To add a case: write NAME.yaml, run "build/nfqwall check tests/golden/bad/NAME.yaml
# > tests/golden/bad/NAME.err" (or good/ and .out) and check every line by eye.

cd "$(dirname "$0")/../.." || exit 1
NFQWALL=${NFQWALL:-${O:-build}/nfqwall}
dir=tests/golden
pass=0
fail=0
tmp=$(mktemp "${TMPDIR:-/tmp}/nfqwall-golden.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT INT TERM

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
	"$NFQWALL" check "$2" >"$tmp" 2>/dev/null
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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
