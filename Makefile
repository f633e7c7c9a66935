# ecgfm — build, test, run, bench. `make run` and `make test` install what is missing first.
# Layers point one way: server/ -> api/ -> core/. Each is its own static library.

BUILD    ?= build
CC       ?= cc
PYTHON   ?= /usr/bin/python3
PKGS     := libmicrohttpd jansson libuv fftw3f sqlite3 hdf5-serial libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# OpenBLAS's OpenMP build, linked by path: its threads are ecgfm's OpenMP threads, so a GEMM and
# the loops around it never fight over the cores (the pthread build's spinning workers made a
# 2-thread batch-1 forward 4-8x slower than a 1-thread one on this 2-core machine).
BLAS_DIR := /usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_CFLAGS := -I/usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIBS := -L$(BLAS_DIR) -Wl,-rpath,$(BLAS_DIR) -lopenblas
OPT      ?= -O2 -march=native
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -fopenmp -I. $(BLAS_CFLAGS) $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) $(BLAS_LIBS) -lfftw3f_omp -ledf -fopenmp -lm -lpthread
TEST_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

# OpenBLAS must be told the kernel family on CPUs newer than it knows (see scripts/blas_coretype.sh);
# every test, benchmark (ecgfm and its PyTorch peer alike) and `make run` sees the same setting.
OPENBLAS_CORETYPE ?= $(shell scripts/blas_coretype.sh)
ifneq ($(OPENBLAS_CORETYPE),)
export OPENBLAS_CORETYPE
endif

CORE_SRC   := $(shell find core -name '*.c' | sort)
API_SRC    := $(shell find api -name '*.c' | sort)
SERVER_SRC := $(filter-out server/main.c,$(shell find server -name '*.c' | sort))
TEST_SRC   := $(sort $(wildcard tests/unit/test_*.c))
# tests/api/: the real build/ecgfm on a loopback port, driven over HTTP.
API_TEST_SRC := $(sort $(wildcard tests/api/test_*.c))
BENCH_SRC  := $(sort $(wildcard bench/bench_*.c))

CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o)
API_OBJ    := $(API_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
TEST_BIN   := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%) $(API_TEST_SRC:tests/api/%.c=$(BUILD)/tests/%)
# The SQL migrations are compiled into the binary (build/gen/migrations.c): it needs no files beside it.
MIGRATIONS := $(sort $(wildcard migrations/*.sql))
SERVER_OBJ += $(BUILD)/gen/migrations.o
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all deps run test unit parity sanitize bench fixtures fuzz clean format model

all: $(BUILD)/ecgfm $(TEST_BIN) $(BENCH_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/gen/migrations.c: $(MIGRATIONS) scripts/embed_sql.sh
	@mkdir -p $(dir $@)
	scripts/embed_sql.sh $@ $(MIGRATIONS)
$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libcore.a: $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(BUILD)/libapi.a: $(API_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(BUILD)/libserver.a: $(SERVER_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/ecgfm: $(BUILD)/server/main.o $(BUILD)/libserver.a $(BUILD)/libapi.a $(BUILD)/libcore.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libserver.a $(BUILD)/libapi.a $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $< $(BUILD)/libserver.a $(BUILD)/libapi.a $(BUILD)/libcore.a -o $@ $(LDLIBS) $(TEST_LIBS)

$(BUILD)/tests/%: tests/api/%.c $(BUILD)/libserver.a $(BUILD)/libapi.a $(BUILD)/libcore.a $(BUILD)/ecgfm
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $< $(BUILD)/libserver.a $(BUILD)/libapi.a $(BUILD)/libcore.a -o $@ $(LDLIBS) $(TEST_LIBS)

# Tests that drive the real binary (found next to them as ../ecgfm).
$(BUILD)/tests/test_pretrain_resume: $(BUILD)/ecgfm
$(BUILD)/tests/test_study: $(BUILD)/ecgfm

$(BUILD)/bench/%: bench/%.c $(BUILD)/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(BUILD)/libcore.a -o $@ $(LDLIBS)

# Installs the Debian packages a fresh machine lacks (skipped when all are present).
deps:
	@scripts/deps.sh

# PyTorch reference fixtures, written by the committed scripts in tests/parity/.
fixtures: $(BUILD)/fixtures/.stamp
$(BUILD)/fixtures/.stamp: $(wildcard tests/parity/*.py)
	@mkdir -p $(dir $@)
	$(PYTHON) tests/parity/gen_all.py $(BUILD)/fixtures
	@touch $@

unit: all fixtures
	@scripts/run_tests.sh $(BUILD)

# Builds use every core (compiling both trees serially was a third of a cold make test).
NPROC := $(shell nproc 2>/dev/null || echo 2)

test: deps
	$(MAKE) -j$(NPROC) all
	$(MAKE) unit
	$(MAKE) sanitize
	$(MAKE) -j$(NPROC) $(FUZZ_BIN)
	$(MAKE) fuzz FUZZ_SECONDS=5

# libFuzzer targets (clang), each with the few sources it needs and a seed corpus from real files.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined
FUZZ_DEPS_fuzz_safetensors := core/format/safetensors.c core/format/atomic_file.c core/base/error.c
FUZZ_DEPS_fuzz_wfdb_header := core/data/wfdb_header.c core/data/wfdb_signal.c core/data/record.c core/base/error.c
FUZZ_DEPS_fuzz_wfdb_annot := core/data/wfdb_annot.c core/base/error.c
FUZZ_DEPS_fuzz_ts := core/data/sktime_ts.c core/data/taskfmt.c core/base/error.c
FUZZ_DEPS_fuzz_arff := core/data/arff.c core/data/taskfmt.c core/base/error.c
FUZZ_DEPS_fuzz_ucr := core/data/ucr.c core/data/taskfmt.c core/base/error.c
FUZZ_DEPS_fuzz_csv := core/data/text_signal.c core/data/taskfmt.c core/data/record.c core/base/error.c
FUZZ_DEPS_fuzz_npy := core/data/text_signal.c core/data/taskfmt.c core/data/record.c core/base/error.c
FUZZ_DEPS_fuzz_store_shard := core/data/store_shard.c core/base/error.c
FUZZ_DEPS_fuzz_edf := core/data/edf.c core/data/record.c core/base/error.c
FUZZ_LIBS_fuzz_edf := -ledf
FUZZ_DEPS_fuzz_embed_json := api/embed_json.c api/response.c core/data/record.c core/base/error.c
FUZZ_LIBS_fuzz_embed_json := -ljansson
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_DEPS_%)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) $< $(FUZZ_DEPS_$*) -o $@ $(FUZZ_LIBS_$*)
.SECONDEXPANSION:
$(FUZZ_BIN): $$(FUZZ_DEPS_$$(notdir $$@))
fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
	    name=$$(basename $$f); corpus=$(BUILD)/fuzz/corpus-$$name; mkdir -p $$corpus; \
	    echo "fuzz $$name for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 $$corpus tests/fuzz/corpus/$${name#fuzz_} \
	        >$(BUILD)/fuzz/$$name.log 2>&1 || { tail -n 40 $(BUILD)/fuzz/$$name.log; exit 1; }; \
	    tail -n 1 $(BUILD)/fuzz/$$name.log; \
	done

# ASan + UBSan build of core and the unit tests, in its own tree.
sanitize: fixtures
	$(MAKE) -j$(NPROC) BUILD=build-san OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    LDLIBS_EXTRA= build-san/ecgfm $(TEST_BIN:$(BUILD)/%=build-san/%)
	@ECGFM_FIXTURES=$(BUILD)/fixtures ECGFM_SANITIZE=1 scripts/run_tests.sh build-san

run: deps
	$(MAKE) $(BUILD)/ecgfm
	$(BUILD)/ecgfm keys ensure-admin
	$(BUILD)/ecgfm serve

bench: deps
	$(MAKE) all
	@scripts/run_bench.sh $(BUILD)

# The bundled default model (models/small/): synthetic corpus + CPC pretraining, about a minute.
model: $(BUILD)/ecgfm
	ECGFM=$(BUILD)/ecgfm WORK=$(BUILD)/model models/small/train.sh

format:
	clang-format -i $$(find core api server tests bench -name '*.[ch]')

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) build-san -name '*.d' 2>/dev/null)
