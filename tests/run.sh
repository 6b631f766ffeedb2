#!/bin/sh
# tests/run.sh SUITE... - run nfqwall's test suites and print one closing line
# "N passed, N failed, N skipped". Suites: lint unit golden validator diff examples k8s helm
# image integ san tsan fuzz.
# Unit and differential tests are cmocka binaries in $O/tests (TAP output);
# golden tests are tests/golden/run.sh; integration tests are the executable
# tests/integ/*.sh scripts (exit 0 pass, 77 skip with a reason, else fail).
set -u
cd "$(dirname "$0")/.." || exit 2
O=${O:-build}
NFQWALL=${NFQWALL:-$O/nfqwall}
export O NFQWALL
pass=0 fail=0 skip=0
failed_names=""

count_tap() {	# $1 = name; stdin = TAP
	while IFS= read -r line; do
		case "$line" in
		*"# SKIP"*|*"# skip"*) skip=$((skip + 1)) ;;
		"ok "*) pass=$((pass + 1)) ;;
		"not ok "*) fail=$((fail + 1)); failed_names="$failed_names $1:${line#not ok }" ;;
		esac
		printf '    %s\n' "$line"
	done
}

run_cmocka() {	# binaries... ($PREFIX names them, e.g. "san/")
	for t in "$@"; do
		[ -x "$t" ] || continue
		name=${PREFIX:-}$(basename "$t")
		echo "== $name"
		out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
		rc=$?
		before=$fail
		count_tap "$name" <<EOT
$out
EOT
		if [ $rc -ne 0 ] && [ $fail -eq "$before" ]; then
			# crashed or failed outside a test case
			fail=$((fail + 1)); failed_names="$failed_names $name:exit-$rc"
			printf '%s\n' "$out" | tail -20
		fi
	done
}

suite_unit() {
	run_cmocka $(ls "$O"/tests/test_* 2>/dev/null | grep -v '/test_diff')
}

suite_diff() {
	run_cmocka $(ls "$O"/tests/test_diff* 2>/dev/null)
}

suite_golden() {
	echo "== golden"
	out=$(NFQWALL="$NFQWALL" sh tests/golden/run.sh 2>&1)
	count_tap golden <<EOT
$out
EOT
}

# nfqwall check examples/ must accept the examples and show the lints it should.
suite_examples() {
	echo "== examples"
	out=$("$NFQWALL" check examples/ 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	for want in "exit:0" "unreachable: ingress\[2\] is an unconditional Deny" \
		    "loopback trap" "0 invalid" \
		    "ingress\[0\].destination.nets: destination nets on an ingress Allow" \
		    "ingress\[1\].destination.ports\[0\]: 30000:32767 overlaps the NodePort" \
		    "Felix's default failsafe ports are open to every source"; do
		case "$want" in
		exit:0) ok=$([ $rc -eq 0 ] && echo y) ;;
		*) ok=$(printf '%s\n' "$out" | grep -q -- "$want" && echo y) ;;
		esac
		if [ "$ok" = y ]; then
			pass=$((pass + 1)); echo "    ok - examples: $want"
		else
			fail=$((fail + 1)); failed_names="$failed_names examples:$want"
			echo "    not ok - examples: $want"
		fi
	done
}

# The house rules: layering, prototypes, banned calls, sizes, self-contained headers.
suite_lint() {
	echo "== lint"
	out=$(make --no-print-directory -s lint 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "    ok - lint"
	else
		fail=$((fail + 1)); failed_names="$failed_names lint"; echo "    not ok - lint"
	fi
}

# A test script that prints TAP-style lines: its lines counted under NAME; exit 77 = skip
# (its last line says why); a non-zero exit with no failed line is a failure of its own.
run_tap_script() {	# NAME CMD...
	name=$1; shift
	echo "== $name"
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 77 ]; then
		skip=$((skip + 1)); printf '%s\n' "$out" | tail -1; echo "    skip - $name"
		return
	fi
	before=$fail
	count_tap "$name" <<EOT
$out
EOT
	if [ $rc -ne 0 ] && [ $fail -eq "$before" ]; then
		fail=$((fail + 1)); failed_names="$failed_names $name:exit-$rc"
		printf '%s\n' "$out" | tail -20
	fi
}

# Parity with Calico's validator: one case per object (tests/validator/).
suite_validator() {
	run_tap_script validator sh tests/validator/run.sh
}

# The test API server proven against the real kubectl (tests/k8s/).
suite_k8s() {
	run_tap_script k8s/test_kubectl sh tests/k8s/test_kubectl.sh
}

suite_integ() {	# $INTEG_ONLY: only these tests (names without .sh)
	for t in tests/integ/*.sh; do
		[ -x "$t" ] || continue
		if [ -n "${INTEG_ONLY:-}" ]; then
			case " $INTEG_ONLY " in *" $(basename "$t" .sh) "*) ;; *) continue ;; esac
		fi
		name=${PREFIX:-}integ/$(basename "$t" .sh)
		echo "== $name"
		log=$O/integ-$(basename "$t" .sh).log
		"$t" > "$log" 2>&1
		rc=$?
		sed 's/^/    /' "$log" | tail -40
		case $rc in
		0) pass=$((pass + 1)); echo "    ok - $name" ;;
		77) skip=$((skip + 1)); echo "    skip - $name" ;;
		*) fail=$((fail + 1)); failed_names="$failed_names $name"
		   echo "    not ok - $name (exit $rc)" ;;
		esac
	done
}

# Unit, differential and integration tests again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails: -fno-sanitize-recover, LSan at exit).
suite_san() {
	echo "== san: building with -fsanitize=address,undefined"
	san_o=${BUILD:-build}/san-address-undefined
	if ! make --no-print-directory -s SAN=address,undefined BUILD="${BUILD:-build}" test-bins \
		> "$O/san-build.log" 2>&1; then
		tail -30 "$O/san-build.log"
		fail=$((fail + 1)); failed_names="$failed_names san:build"; return
	fi
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	PREFIX=san/
	run_cmocka $(ls "$san_o"/tests/test_* 2>/dev/null)
	o_saved=$O nfqwall_saved=$NFQWALL
	O=$san_o NFQWALL=$san_o/nfqwall
	export O NFQWALL
	suite_integ
	O=$o_saved NFQWALL=$nfqwall_saved PREFIX=
	export O NFQWALL
}

# The multithreaded parts under ThreadSanitizer (-fsanitize=thread): the RCU
# publish/reclaim and log-ring stress test and the other threaded unit tests,
# then the daemon itself (workers, logger, control thread, HTTP) through
# integration tests that reload while traffic flows. tests/tsan.supp silences
# only what liburcu's uninstrumented internals do.
TSAN_UNITS="test_rcu_stress test_vlog test_http test_kstore test_fjournal"
TSAN_INTEG="allow_deny reload rejudge exthdr soak journal"
suite_tsan() {
	echo "== tsan: building with -fsanitize=thread"
	tsan_o=${BUILD:-build}/san-thread
	bins=""
	for u in $TSAN_UNITS; do bins="$bins $tsan_o/tests/$u"; done
	if ! make --no-print-directory -s SAN=thread BUILD="${BUILD:-build}" "$tsan_o/nfqwall" $bins \
		> "$O/tsan-build.log" 2>&1; then
		tail -30 "$O/tsan-build.log"
		fail=$((fail + 1)); failed_names="$failed_names tsan:build"; return
	fi
	export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 exitcode=66 second_deadlock_stack=1"
	PREFIX=tsan/
	run_cmocka $bins
	o_saved=$O nfqwall_saved=$NFQWALL
	O=$tsan_o NFQWALL=$tsan_o/nfqwall INTEG_ONLY=$TSAN_INTEG
	export O NFQWALL
	suite_integ
	O=$o_saved NFQWALL=$nfqwall_saved PREFIX= INTEG_ONLY=
	export O NFQWALL
	unset TSAN_OPTIONS
}

# The Helm chart (tests/helm/run.sh): helm lint --strict, renders, refused values,
# yamllint, the Kubernetes schemas, the house rules, determinism, the golden render.
suite_helm() {
	run_tap_script helm env TOOLS="${BUILD:-build}/tools" NFQWALL="$NFQWALL" sh tests/helm/run.sh
}

# The container image (tests/image/run.sh): two builds byte-identical, a chroot, podman
# with real traffic between namespaces. Needs deb.debian.org; installs mmdebstrap, umoci,
# podman and runc when missing.
suite_image() {
	run_tap_script image env O="$O" NFQWALL="$NFQWALL" sh tests/image/run.sh
}

# libFuzzer targets: replay every kept input, then fuzz each target briefly.
suite_fuzz() {
	echo "== fuzz: building with clang -fsanitize=fuzzer,address,undefined"
	if ! make --no-print-directory -s BUILD="${BUILD:-build}" fuzz-replay > "$O/fuzz.log" 2>&1; then
		:
	fi
	count_tap fuzz < "$O/fuzz.log"
	grep -q '^ok - fuzz/' "$O/fuzz.log" || {
		tail -30 "$O/fuzz.log"; fail=$((fail + 1)); failed_names="$failed_names fuzz:build"; }
}

for s in "$@"; do
	case "$s" in
	lint|unit|diff|golden|validator|examples|k8s|helm|image|integ|san|tsan|fuzz) "suite_$s" ;;
	*) echo "tests/run.sh: unknown suite '$s'" >&2; exit 2 ;;
	esac
done
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
