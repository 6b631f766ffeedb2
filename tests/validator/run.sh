#!/bin/sh
# tests/validator/run.sh - parity with Calico's validator: every case is one
# object in tests/validator/valid/NAME.yaml (Calico accepts it) or
# tests/validator/invalid/NAME.yaml (Calico rejects it), written for nfqwall
# from an entry of Calico's own validator tests
# (libcalico-go/lib/validator/v3/validator_test.go, v3.30-v3.32) or from a
# rule of its validator and CRD schemas; the first line of each file names
# its source. "nfqwall check" must exit 0 on a valid case and 1 on an
# invalid one.
#
# Prints "ok - valid/NAME" or "not ok - invalid/NAME" per case (with the
# first diagnostics of a failure), then the parity line
#   "parity: N of M cases as Calico decides them (P %)"
# and "N passed, N failed, N known differences"; exits 1 if any case failed.
# A deliberate difference from Calico is a case with a line
# "# known difference: WHY" (listed in docs/semantics.md, "Known
# differences"): it prints "ok - NAME # SKIP known difference" and counts
# against the parity, not as a failure; should it ever agree with Calico,
# it fails, so the mark and the list are kept true. Runs from the
# repository root; NFQWALL selects the binary (default $O/nfqwall, O
# defaulting to build). To add a case, write the object with its source on
# the first line and the verdict on the second.

cd "$(dirname "$0")/../.." || exit 1
NFQWALL=${NFQWALL:-${O:-build}/nfqwall}
dir=tests/validator
pass=0
fail=0
known=0
out=$(mktemp "${TMPDIR:-/tmp}/nfqwall-validator.XXXXXX") || exit 1	# a case's output
trap 'rm -f "$out"' EXIT INT TERM

if [ ! -x "$NFQWALL" ]; then
	echo "validator: $NFQWALL is not executable (run make first)" >&2
	exit 1
fi

# run_case DIR FILE WANT_RC
run_case() {
	name="$1/$(basename "$2" .yaml)"
	"$NFQWALL" check "$2" >"$out" 2>&1
	rc=$?
	if grep -q '^# known difference:' "$2"; then
		if [ "$rc" -ne "$3" ]; then
			echo "ok - $name # SKIP known difference"
			known=$((known + 1))
		else
			echo "not ok - $name (marked a known difference, but agrees with Calico:" \
				"remove the mark and its entry in docs/semantics.md)"
			fail=$((fail + 1))
		fi
		return
	fi
	if [ "$rc" -eq "$3" ]; then
		echo "ok - $name"
		pass=$((pass + 1))
		return
	fi
	echo "not ok - $name (exit $rc, Calico: $1)"
	grep -E ': (error|warning): ' "$out" | head -3 | cut -c1-300 | sed 's/^/#   /'
	fail=$((fail + 1))
}

for f in "$dir"/valid/*.yaml; do
	[ -e "$f" ] || continue
	run_case valid "$f" 0
done
for f in "$dir"/invalid/*.yaml; do
	[ -e "$f" ] || continue
	run_case invalid "$f" 1
done

total=$((pass + fail + known))
if [ "$total" -gt 0 ]; then
	echo "parity: $pass of $total cases as Calico decides them" \
		"($(awk "BEGIN { printf \"%.1f\", 100 * $pass / $total }") %)"
fi
echo "$pass passed, $fail failed, $known known differences"
[ "$fail" -eq 0 ]
