# bench/local.mk - libhmm's benchmark suite; included by the top-level
# Makefile.am (owned by the bench helper).  Nothing here is built by "make"
# or "make check": the programs are compiled by the bench targets only.
#
#   make bench           full suite, 5 repetitions (BENCH_REPS, BENCH_SCALE,
#                        BENCH_ALLOCATORS, BENCH_PROGRAMS override), writes
#                        bench/results/latest.{md,svg,json}
#   make bench-quick     smoke test: 1 repetition at scale 0.1, writes
#                        bench/results/quick.{md,svg,json}
#   make bench-fastpath  callgrind instructions per malloc+free pair; fails
#                        above the limit in bench/fastpath-limit
#   make bench-programs  just compile the programs into bench/bin/

BENCH_COPTS = -O2 -g -fno-builtin -pthread -Wall -Wextra
BENCH_PY = python3
BENCH_RESULTS = $(srcdir)/bench/results
BENCH_LIB = $(abs_top_builddir)/.libs/libhmm.so.1
BENCH_RUN = BENCH_MAKE_CMD='make $@' $(BENCH_PY) $(srcdir)/bench/run-bench \
	--bindir bench/bin --lib $(BENCH_LIB) --out $(BENCH_RESULTS)

BENCH_BINS = \
	bench/bin/larson \
	bench/bin/xmalloc \
	bench/bin/cache \
	bench/bin/mstress \
	bench/bin/churn \
	bench/bin/smallloop \
	bench/bin/mixed \
	bench/bin/symbolic \
	bench/bin/bintree \
	bench/bin/hashtable \
	bench/bin/large \
	bench/bin/huge \
	bench/bin/realloc \
	bench/bin/aligned \
	bench/bin/memreturn \
	bench/bin/idle \
	bench/bin/fastpath \
	bench/bin/spawn

EXTRA_DIST += \
	bench/local.mk \
	bench/README.md \
	bench/bench.h \
	bench/batches.h \
	bench/larson.c \
	bench/xmalloc.c \
	bench/cache.c \
	bench/mstress.c \
	bench/churn.c \
	bench/smallloop.c \
	bench/mixed.c \
	bench/symbolic.c \
	bench/bintree.c \
	bench/hashtable.c \
	bench/large.c \
	bench/huge.c \
	bench/realloc.c \
	bench/aligned.c \
	bench/memreturn.c \
	bench/idle.c \
	bench/fastpath.c \
	bench/py-workload.py \
	bench/run-bench \
	bench/run-fastpath \
	bench/fastpath-limit

CLEANFILES += $(BENCH_BINS)

bench-programs: $(BENCH_BINS)

bench/bin/larson: $(srcdir)/bench/larson.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/larson.c
bench/bin/xmalloc: $(srcdir)/bench/xmalloc.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/xmalloc.c
bench/bin/cache: $(srcdir)/bench/cache.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/cache.c
bench/bin/mstress: $(srcdir)/bench/mstress.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/mstress.c
bench/bin/churn: $(srcdir)/bench/churn.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/churn.c
bench/bin/smallloop: $(srcdir)/bench/smallloop.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/smallloop.c
bench/bin/mixed: $(srcdir)/bench/mixed.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/mixed.c
bench/bin/symbolic: $(srcdir)/bench/symbolic.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/symbolic.c
bench/bin/bintree: $(srcdir)/bench/bintree.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/bintree.c
bench/bin/hashtable: $(srcdir)/bench/hashtable.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/hashtable.c
bench/bin/large: $(srcdir)/bench/large.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/large.c
bench/bin/huge: $(srcdir)/bench/huge.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/huge.c
bench/bin/realloc: $(srcdir)/bench/realloc.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/realloc.c
bench/bin/aligned: $(srcdir)/bench/aligned.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/aligned.c
bench/bin/memreturn: $(srcdir)/bench/memreturn.c $(srcdir)/bench/batches.h $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/memreturn.c
bench/bin/idle: $(srcdir)/bench/idle.c $(srcdir)/bench/batches.h $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/idle.c
bench/bin/fastpath: $(srcdir)/bench/fastpath.c $(srcdir)/bench/bench.h
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/bench/fastpath.c

# The launcher hmm-run --compare installs too (tools/local.mk).
bench/bin/spawn: $(srcdir)/tools/hmm-spawn.c
	@$(MKDIR_P) bench/bin
	$(AM_V_CC)$(CC) $(BENCH_COPTS) -o $@ $(srcdir)/tools/hmm-spawn.c

bench: bench-programs $(lib_LTLIBRARIES)
	$(BENCH_RUN)

bench-quick: bench-programs $(lib_LTLIBRARIES)
	$(BENCH_RUN) --quick

bench-fastpath: bench/bin/fastpath $(lib_LTLIBRARIES)
	$(BENCH_PY) $(srcdir)/bench/run-fastpath --bin bench/bin/fastpath \
		--lib $(BENCH_LIB) --limit $(srcdir)/bench/fastpath-limit \
		--out $(BENCH_RESULTS)/fastpath.md

.PHONY: bench bench-quick bench-fastpath bench-programs
