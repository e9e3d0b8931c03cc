# ddwlink - HPC record linkage (MPI + OpenMP + parallel HDF5)
#
# Package flags are evaluated when a recipe runs (=, not :=), so `make deps all`
# works on a machine where `make deps` has only just installed them.
# ---- user-editable -------------------------------------------------------
CC       ?= gcc
OPT      ?= -O2 -g
WERROR   ?= 1
NP       ?= 2
OMP      ?= 1
MPIRUN   ?= mpirun --oversubscribe --bind-to none
# ---------------------------------------------------------------------------

DEB_PKGS := build-essential pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev \
            hdf5-tools libcmocka-dev libinih-dev libssl-dev libdeflate-dev zlib1g-dev \
            python3 python3-h5py python3-numpy

VERSION  := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unknown-pragmas
ifeq ($(WERROR),1)
WARN     += -Werror
endif
PKG_CFLAGS = $(shell pkg-config --cflags hdf5-openmpi inih libcrypto 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs hdf5-openmpi inih libcrypto 2>/dev/null)
CPPFLAGS := -Iinclude -Ibuild -D_GNU_SOURCE
CFLAGS   := $(OPT) $(WARN) -fopenmp -MMD -MP $(EXTRA_CFLAGS)
LDLIBS   = $(PKG_LIBS) -ldeflate -lz -lm

SRC      := $(wildcard src/*.c)
OBJ      := $(SRC:src/%.c=build/%.o)
# the serial library for unit tests: no MPI, no HDF5
SER_SRC  := $(filter-out src/main.c src/h5io.c src/write.c src/evaluate_cli.c src/sweep_cli.c src/rerun.c,$(SRC))
SER_OBJ  := $(SER_SRC:src/%.c=build/serial/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

.PHONY: FORCE all deps test unit demo bench bench-quick bench-scaling check asan debug clean

all: bin/ddwlink

bin/ddwlink: $(OBJ)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# version header, rewritten only when `git describe` changes
build/ddw_version.h: FORCE
	@mkdir -p build
	@echo '#define DDW_VERSION "$(VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

build/main.o: build/ddw_version.h

build/%.o: src/%.c
	@mkdir -p build
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

build/serial/%.o: src/%.c
	@mkdir -p build/serial
	$(CC) $(CPPFLAGS) -DDDW_NO_MPI $(shell pkg-config --cflags inih) $(CFLAGS) -c -o $@ $<

build/libddw_serial.a: $(SER_OBJ)
	ar rcs $@ $^

build/tests/%: tests/unit/%.c build/libddw_serial.a
	@mkdir -p build/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< build/libddw_serial.a \
	    $(shell pkg-config --libs cmocka inih libcrypto) -ldeflate -lz -lm

# MPI check of distributed connected components against a serial reference
build/cluster_mpi: tests/mpi/cluster_mpi.c build/cluster.o build/comm.o build/util.o
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# MPI check of distributed component refinement against a serial reference
build/refine_mpi: tests/mpi/refine_mpi.c build/refine.o build/cluster.o build/norm.o build/comm.o \
                  build/util.o
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Installs every Debian package the build, tests and tools need (idempotent).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
	        --no-install-recommends $$missing; \
	else echo "make deps: all packages present"; fi

unit: $(UNIT_BIN)

# Every test: unit (cmocka), MPI rank/thread matrix, read-back, bad input.
test: bin/ddwlink $(UNIT_BIN) build/cluster_mpi build/refine_mpi
	bash tests/run_tests.sh

demo: bin/ddwlink
	$(MPIRUN) -np $(NP) -x OMP_NUM_THREADS=$(OMP) bin/ddwlink link \
	    --config configs/example.ini --out results/example

bench: bin/ddwlink
	bash tests/bench/bench.sh

bench-quick: bin/ddwlink
	bash tests/bench/bench.sh quick

# per-stage time, bytes and memory at 1, 2, 4, 8 ranks (docs/scaling.md)
bench-scaling: bin/ddwlink
	bash tests/bench/scaling.sh

check: clean
	$(MAKE) test EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" OPT="-O1 -g"

debug:
	$(MAKE) OPT="-O0 -g3"

clean:
	rm -rf build bin

-include $(OBJ:.o=.d) $(SER_OBJ:.o=.d) $(UNIT_BIN:=.d)

FORCE:
