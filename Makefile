# lgp — one Makefile. `make` builds every program into build/bin, `make check` runs
# the unit and pipeline tests through prove, `make check SAN=1` does the same with
# AddressSanitizer + UndefinedBehaviorSanitizer in build-san/.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DELETE_ON_ERROR:
.SECONDARY:

PREFIX ?= /usr/local
CC ?= cc
PYTHON ?= /usr/bin/python3

ifeq ($(MPI),1)
CC := mpicc
MPIFLAGS := -DLGP_MPI
BUILD ?= build-mpi
endif

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1 -g
else
BUILD ?= build
SANFLAGS :=
OPT := -O2 -g
endif

PKGS := openblas libzstd libarchive libjpeg libpng zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# oneDNN (Debian's libdnnl-dev, installed by .ci/deps) for the engine's matrix products
# (common/nn/gemm.h): on by default where its header is installed, DNNL=0 builds with
# OpenBLAS alone; LGP_GEMM=openblas picks OpenBLAS at run time in a DNNL=1 build.
DNNL ?= $(if $(wildcard /usr/include/oneapi/dnnl/dnnl.h),1,0)
ifeq ($(DNNL),1)
PKG_CFLAGS += -DLGP_DNNL
PKG_LIBS += -ldnnl
endif

# Portable by default: the x86-64-v2 baseline (SSE4.2) runs on every node of a cluster,
# and the hot loops (LGP_HOT in common/lgp.h) carry AVX2 and AVX-512 versions picked at
# load time; sgemm is OpenBLAS's own dispatch. NATIVE=1 builds for this CPU only;
# NATIVE=x86-64-v3 (or -v4) for that level only, no run-time choice (the AVX2 stand-in
# of bench/: BENCH_ISA=avx2 with a build of NATIVE=x86-64-v3 keeps lgp's own loops off
# AVX-512 too).
NATIVE ?= 0
ifeq ($(NATIVE),1)
ARCHFLAGS := -march=native -DLGP_NATIVE
else ifneq ($(filter x86-64-v3 x86-64-v4,$(NATIVE)),)
ARCHFLAGS := -march=$(NATIVE) -DLGP_NATIVE
else ifeq ($(shell uname -m),x86_64)
ARCHFLAGS := -march=x86-64-v2 -mtune=generic
else
ARCHFLAGS :=
endif
USER_CFLAGS := $(if $(filter environment command line,$(origin CFLAGS)),$(CFLAGS))
CFLAGS ?= $(OPT)
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fopenmp $(ARCHFLAGS) $(SANFLAGS) $(MPIFLAGS) $(EXTRA_CFLAGS) $(PKG_CFLAGS) -I.
# --as-needed: each program keeps only the shared libraries it really calls, so
# lgp-probe does not depend on libjpeg or libarchive.
LDFLAGS += -fopenmp $(SANFLAGS) -Wl,--as-needed
LDLIBS := $(PKG_LIBS) -lm -lpthread

LIB_SRC := $(wildcard common/*/*.c formats/*.c)
LIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
PROG_SRC := $(wildcard bin/lgp-*.c)
PROGS := $(patsubst bin/%.c,$(BUILD)/bin/%,$(PROG_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%-replay,$(FUZZ_SRC))

# The options that change what a build folder's objects are (DNNL, NATIVE, the compiler,
# CFLAGS or EXTRA_CFLAGS given by the user), kept in $(BUILD)/flags and rewritten only
# when they change: every object and program depends on it, so flipping one of them in
# an existing folder rebuilds all of it instead of linking objects made for the other
# setting. SAN and MPI are not in it: they have folders of their own, and tests call
# make on those folders without repeating SAN=1.
BUILD_FLAGS := CC=$(CC) DNNL=$(DNNL) NATIVE=$(NATIVE) EXTRA_CFLAGS=$(EXTRA_CFLAGS) CFLAGS=$(USER_CFLAGS)
ifeq ($(filter clean,$(MAKECMDGOALS)),)
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(BUILD)/flags 2>/dev/null)" = '$(BUILD_FLAGS)' ] || printf '%s\n' '$(BUILD_FLAGS)' >$(BUILD)/flags; })
endif
# (only if that could not write it, e.g. a quote in CFLAGS: an empty stamp, not a stop)
$(BUILD)/flags:
	@mkdir -p $(@D) && touch $@

.PHONY: all check unit pipeline deps deps-quiet install clean fuzz demo smoke repro ablation asan-test ubsan-test bench
all: $(PROGS) $(if $(wildcard bin/lgp-tar-images.c),$(BUILD)/bin/tar-images)

$(BUILD)/obj/%.o: %.c $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/liblgp.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/bin/%.o $(BUILD)/liblgp.a $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(BUILD)/liblgp.a $(LDLIBS) -o $@

$(BUILD)/bin/tar-images: $(BUILD)/bin/lgp-tar-images
	ln -sf lgp-tar-images $@

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/liblgp.a $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(BUILD)/liblgp.a $(LDLIBS) -o $@

# Benchmarks: bench/bench_*.c, one program each, built like the unit tests; `make bench`
# runs bench/bench_mae.sh and bench/bench_cl.sh (lgp against the PyTorch twins, see
# bench/README.md).
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/liblgp.a $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $< $(BUILD)/liblgp.a $(LDLIBS) -o $@

bench: $(BENCHES)
	LGP_BUILD=$(CURDIR)/$(BUILD) PYTHON=$(PYTHON) bash bench/bench_mae.sh
	LGP_BUILD=$(CURDIR)/$(BUILD) PYTHON=$(PYTHON) bash bench/bench_cl.sh

# Fuzz targets: the libFuzzer build (clang) for `make fuzz`, and a replay build (the
# normal compiler, sanitizers when SAN=1) that runs each corpus as a regression test.
$(BUILD)/fuzz/%-replay: tests/fuzz/%.c tests/fuzz/replay_main.c $(BUILD)/liblgp.a $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $< tests/fuzz/replay_main.c $(BUILD)/liblgp.a $(LDLIBS) -o $@

FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SAN=1 DNNL=0 EXTRA_CFLAGS='-fsanitize=fuzzer-no-link -Wno-error' $(FUZZ_BUILD)/liblgp.a
	set -e; for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE -I. $(PKG_CFLAGS) $$f $(FUZZ_BUILD)/liblgp.a $(filter-out -ldnnl,$(LDLIBS)) -fopenmp -o $(FUZZ_BUILD)/$$n; \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$n; \
	  $(FUZZ_BUILD)/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $$( [ -f tests/fuzz/$$n.dict ] && echo -dict=tests/fuzz/$$n.dict ) $(FUZZ_BUILD)/corpus-$$n tests/fuzz/corpus/$$n 2>&1 | tail -n 3; \
	done

unit: $(UNITS)
check: deps-quiet
	$(MAKE) all $(UNITS) $(FUZZ_REPLAY)
	if command -v mpicc >/dev/null; then $(MAKE) MPI=1 SAN=0 BUILD=build-mpi all; fi
	LGP_BUILD=$(CURDIR)/$(BUILD) LGP_BUILD_MPI=$(CURDIR)/build-mpi PYTHON=$(PYTHON) prove -j2 --exec '' $(UNITS) tests/pipeline/t*.sh

asan-test ubsan-test:
	$(MAKE) check SAN=1

deps deps-quiet:
	bash .ci/deps

# The README's first check: every stage of the comparison end to end on the test profile
# (a 3-block ViT of width 32, 512 training images, one epoch a stage, embeddings of 3,000
# train / 1,000 test images, probes at 1% and 10%, lambda tuned at 1% only), about a
# minute on 2 cores, into a scratch folder made afresh each time; then its table. It says
# that the programs are built and work together; its numbers mean nothing.
SMOKE_OUT ?= $(BUILD)/smoke
smoke: all
	rm -rf $(SMOKE_OUT)
	$(MAKE) -s -f pipelines/lgp.mk -j2 PROFILE=test TUNED=1pct OUT=$(SMOKE_OUT) LGP_BIN=$(abspath $(BUILD))/bin table
	@echo "smoke: every stage ran; outputs in $(SMOKE_OUT)"

# The README's first command: the whole comparison on Fashion-MNIST, quick profile.
# Running it again after an interruption resumes every stage from its snapshots.
demo: deps-quiet
	$(MAKE) all
	$(MAKE) -f pipelines/lgp.mk -j2 PROFILE=quick LGP_BIN=$(CURDIR)/$(BUILD)/bin table plots
	$(MAKE) -f pipelines/lgp.mk PROFILE=quick record

repro: deps-quiet
	$(MAKE) all
	$(MAKE) -f pipelines/lgp.mk -j2 PROFILE=repro LGP_BIN=$(CURDIR)/$(BUILD)/bin table plots
	$(MAKE) -f pipelines/lgp.mk PROFILE=repro record

# The lr-ratio and block-count ablation of one training seed (SEED=S), quick profile.
ablation: deps-quiet
	$(MAKE) all
	$(MAKE) -f pipelines/lgp.mk -j2 PROFILE=quick LGP_BIN=$(CURDIR)/$(BUILD)/bin ablation
	$(MAKE) -f pipelines/lgp.mk PROFILE=quick record

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	ln -sf lgp-tar-images $(DESTDIR)$(PREFIX)/bin/tar-images
	for m in bin/*.1; do [ -f "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man1/ || true; done

clean:
	rm -rf build build-san build-fuzz build-mpi

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
