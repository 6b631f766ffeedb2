# nfqwall - one non-recursive GNU Makefile; every source list ends with a "# end of" line.
#
#   make            build build/nfqwall
#   make test       unit, golden and differential tests (no root, seconds)
#   make check      deps + test + integration tests; ends with "N passed, N failed"
#   make demo       deps + build + a live demo in network namespaces (root)
#   make bench      benchmarks; every figure is printed with its command
#   make deps       install missing Debian packages (idempotent)
#   make image      the container image build/image/nfqwall-VERSION.oci.tar (root;
#                   deploy/image/README.md); make image-test builds and tests it
#   SAN=address,undefined make test     sanitizer build in build/san-address-undefined/
#   WERROR=1 V=1 BUILD=dir (default build/)

CC	?= cc
CFLAGS	?= -O2 -g
PKGS	:= yaml-0.1 liburcu-memb liburcu-cds libmnl libnetfilter_queue libcurl libmicrohttpd

WARN	:= -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wmissing-declarations -Wformat=2 -Wwrite-strings -Wundef -Wvla -Wcast-align \
	   -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN	+= -Werror
endif

comma	:= ,
BUILD	?= build
ifeq ($(SAN),)
O	:= $(BUILD)
else
O	:= $(BUILD)/san-$(subst $(comma),-,$(SAN))
SANFLAGS := -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

ifeq ($(V),1)
Q	:=
else
Q	:= @
endif

# Without the -dev packages, say what to do instead of failing on a header.
# deps, check and demo install them first; clean needs none.
NODEPS_GOALS := deps check demo clean
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(NODEPS_GOALS),$(MAKECMDGOALS)),)
SKIP_DEPCHECK := 1
endif
endif
ifneq ($(SKIP_DEPCHECK),1)
ifneq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && echo ok),ok)
$(error build dependencies missing (pkg-config: $(PKGS)); run "make deps" as root, or "make demo" / "make check", which run it)
endif
ifneq ($(filter test bench,$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists cmocka 2>/dev/null && echo ok),ok)
$(error the test library is missing (libcmocka-dev); run "make deps" as root)
endif
endif
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANFLAGS) -D_GNU_SOURCE $(PKG_CFLAGS) -MMD -MP
ALL_LDLIBS = $(SANFLAGS) $(PKG_LIBS) -lpthread -lm

# The rooms and the include paths each may use: the compiler enforces the
# layering that README.md draws and scripts/lint.sh checks.
#   include/          shared contracts (headers only)
#   nfq/              data path                 -> include
#   control/util/     allocation, string maps   -> include
#   control/policy/   the policy language       -> util include
#   control/compile/  endpoints, compiler, eval -> policy util include
#   control/k8s/      Kubernetes client         -> util include
#   control/daemon/   the running daemon        -> compile policy k8s util nfq include
#   control/*.c       main and the CLI          -> every room
INC_include := -Iinclude
INC_nfq     := $(INC_include) -Infq
INC_util    := $(INC_include) -Icontrol/util
INC_policy  := $(INC_util) -Icontrol/policy
INC_compile := $(INC_policy) -Icontrol/compile
INC_k8s     := $(INC_util) -Icontrol/k8s
INC_daemon  := $(INC_compile) -Icontrol/k8s -Icontrol/daemon -Infq
INC_top     := $(INC_daemon) -Icontrol
INC_tests   := $(INC_top) -Itests/unit -Itests/fuzz
ROOMS       := nfq control/util control/policy control/compile control/k8s control/daemon

# room_inc FILE - the include flags of the room FILE lives in.
room_inc = $(strip \
	$(if $(filter nfq/%,$(1)),$(INC_nfq),\
	$(if $(filter control/util/%,$(1)),$(INC_util),\
	$(if $(filter control/policy/%,$(1)),$(INC_policy),\
	$(if $(filter control/compile/%,$(1)),$(INC_compile),\
	$(if $(filter control/k8s/%,$(1)),$(INC_k8s),\
	$(if $(filter control/daemon/%,$(1)),$(INC_daemon),\
	$(if $(filter tests/% bench/%,$(1)),$(INC_tests),\
	$(INC_top)))))))))

# Everything but main(): linked into the binary, the tests and the benches.
LIB_SRCS := $(sort $(foreach r,$(ROOMS),$(wildcard $(r)/*.c))) \
	control/explain.c \
	control/replay.c \
	control/fjread.c \
	control/rules.c \
	# end of LIB_SRCS

MAIN_SRCS := \
	control/main.c \
	# end of MAIN_SRCS


UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
DIFF_SRCS := $(sort $(wildcard tests/diff/test_*.c))
BENCH_SRCS := $(sort $(wildcard bench/*.c))

LIB_OBJS   := $(LIB_SRCS:%.c=$(O)/obj/%.o)
MAIN_OBJS  := $(MAIN_SRCS:%.c=$(O)/obj/%.o)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
DIFF_BINS  := $(DIFF_SRCS:tests/diff/%.c=$(O)/tests/%)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(O)/bench/%)
NFQWALL    := $(O)/nfqwall

.PHONY: all test-bins test check demo bench deps lint hdrcheck clean fuzz fuzz-replay image \
	image-test
all: $(NFQWALL)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(call room_inc,$<) -c -o $@ $<

$(O)/libnfqwall.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(NFQWALL): $(MAIN_OBJS) $(O)/libnfqwall.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDLIBS)

$(UNIT_BINS): $(O)/tests/%: $(O)/obj/tests/unit/%.o $(O)/libnfqwall.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDLIBS) -lcmocka

$(DIFF_BINS): $(O)/tests/%: $(O)/obj/tests/diff/%.o $(O)/libnfqwall.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDLIBS) -lcmocka

$(BENCH_BINS): $(O)/bench/%: $(O)/obj/bench/%.o $(O)/libnfqwall.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(ALL_LDLIBS)

test-bins: $(NFQWALL) $(UNIT_BINS) $(DIFF_BINS)

test: $(NFQWALL) $(UNIT_BINS) $(DIFF_BINS)
	$(Q)O=$(O) tests/run.sh unit golden validator diff

check: deps $(NFQWALL) $(UNIT_BINS) $(DIFF_BINS)
	$(Q)O=$(O) BUILD=$(BUILD) tests/run.sh lint unit golden validator diff examples k8s helm image integ san tsan fuzz

demo: deps $(NFQWALL)
	$(Q)O=$(O) scripts/demo.sh

bench: $(NFQWALL) $(BENCH_BINS)
	$(Q)O=$(O) bench/run.sh

deps:
	$(Q)scripts/deps.sh

image: $(NFQWALL)
	$(Q)O=$(O) scripts/image.sh

image-test: $(NFQWALL)
	$(Q)O=$(O) BUILD=$(BUILD) tests/run.sh image

lint: hdrcheck
	$(Q)scripts/lint.sh

hdrcheck:
	$(Q)for h in include/*.h nfq/*.h control/*.h control/*/*.h; do \
		printf '#include "%s"\n' $$(basename $$h) | \
		$(CC) $(ALL_CFLAGS) $(INC_top) -MF /dev/null -x c -fsyntax-only - || exit 1; done

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang, ASan and UBSan into
# $(BUILD)/fuzz/. Seeds and every finding kept as a regression input live in
# tests/fuzz/corpus/<target>/; new inputs a run discovers go to $(BUILD)/fuzz/corpus/.
#   make fuzz [FUZZ_SECONDS=60]   fuzz each target for that long
#   make fuzz-replay              replay every corpus, then fuzz each target briefly
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BRIEF   ?= 10
FUZZ_O       := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -O1 -g -D_GNU_SOURCE -DFUZZING $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		$(PKG_CFLAGS)
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_O)/%)
FUZZ_LIBOBJS := $(LIB_SRCS:%.c=$(FUZZ_O)/obj/%.o)

$(FUZZ_O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(call room_inc,$<) -MMD -MP -c -o $@ $<

$(FUZZ_O)/libnfqwall.a: $(FUZZ_LIBOBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_O)/%: $(FUZZ_O)/obj/tests/fuzz/%.o $(FUZZ_O)/libnfqwall.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lpthread -lm

fuzz: $(FUZZ_BINS)
	$(Q)FUZZ_O=$(FUZZ_O) tests/fuzz/run.sh fuzz $(FUZZ_SECONDS)

fuzz-replay: $(FUZZ_BINS)
	$(Q)FUZZ_O=$(FUZZ_O) tests/fuzz/run.sh replay $(FUZZ_BRIEF)

clean:
	rm -rf build

-include $(shell find $(O)/obj $(FUZZ_O)/obj -name '*.d' 2>/dev/null)
