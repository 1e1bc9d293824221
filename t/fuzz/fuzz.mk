# t/fuzz/fuzz.mk - the fuzzers and the soak test; included by the top-level
# Makefile.am.
#
#   make fuzz            t/fuzz/fuzz for FUZZ_TIME seconds (default 60),
#                        threads and seed from FUZZ_ARGS or the clock
#   make fuzz-libfuzzer  builds t/fuzz/fuzz-libfuzzer with clang's libFuzzer
#                        (the allocator's sources compiled in) and runs it
#                        for FUZZ_TIME seconds over t/fuzz/fuzz-corpus
#   make soak            t/fuzz/soak for SOAK_TIME seconds (default 600)
#
# make check runs a short fuzz (t/fuzz/fuzz-short.sh).

FUZZ_TIME = 60
FUZZ_ARGS =
SOAK_TIME = 600

# The fuzzer links the static core, so that it can call hmm_check_heap(),
# and, where libhmm replaces malloc, the malloc family from interpose.c.
check_PROGRAMS += t/fuzz/fuzz
t_fuzz_fuzz_SOURCES = t/fuzz/fuzz.c t/fuzz/fuzz-model.c t/fuzz/fuzz-model.h
if INTERPOSE
t_fuzz_fuzz_SOURCES += src/api/interpose.c
endif
t_fuzz_fuzz_CPPFLAGS = $(API_CPP)
t_fuzz_fuzz_CFLAGS = -O2 $(TEST_COPTS)
t_fuzz_fuzz_LDFLAGS = $(TEST_LINK)
t_fuzz_fuzz_LDADD = src/libhmm_core.la

TESTS += t/fuzz/fuzz-short.sh
EXTRA_DIST += t/fuzz/fuzz-short.sh

fuzz: t/fuzz/fuzz
	t/fuzz/fuzz --time $(FUZZ_TIME) $(FUZZ_ARGS)

.PHONY: fuzz

# The soak test: the malloc family where libhmm replaces it.
EXTRA_PROGRAMS += t/fuzz/soak
CLEANFILES += t/fuzz/soak
t_fuzz_soak_SOURCES = t/fuzz/soak.c
t_fuzz_soak_CPPFLAGS = $(API_CPP)
t_fuzz_soak_CFLAGS = -O2 $(TEST_COPTS)
t_fuzz_soak_LDFLAGS = $(TEST_LINK)
t_fuzz_soak_LDADD = $(API_LIB)

soak: t/fuzz/soak
	t/fuzz/soak --time $(SOAK_TIME)

.PHONY: soak

# libFuzzer: clang instruments the harness, the model and the allocator's
# sources together (libFuzzer's own allocations stay with the C library).
LIBFUZZER_CC = clang
LIBFUZZER_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-ftls-model=initial-exec -fno-builtin -pthread
LIBFUZZER_INPUTS = $(srcdir)/t/fuzz/fuzz-libfuzzer.c $(srcdir)/t/fuzz/fuzz-model.c \
	$(srcdir)/t/fuzz/fuzz-model.h $(srcdir)/t/lib/testlib.h $(HMM_SOURCES) src/base/os.c
EXTRA_DIST += t/fuzz/fuzz.mk t/fuzz/fuzz-libfuzzer.c t/fuzz/fuzz-corpus
CLEANFILES += t/fuzz/fuzz-libfuzzer

t/fuzz/fuzz-libfuzzer: $(LIBFUZZER_INPUTS)
	$(AM_V_CC)srcs=; for f in $(LIBFUZZER_INPUTS); do \
	  case $$f in *.c) test -f "$$f" || f="$(srcdir)/$$f"; srcs="$$srcs $$f";; esac; \
	done; \
	$(LIBFUZZER_CC) $(LIBFUZZER_CFLAGS) $(DEFS) -I$(srcdir)/include -I$(srcdir)/src \
	  -I$(srcdir)/t/lib -o $@ $$srcs

# New inputs go to t/fuzz/fuzz-corpus.new; the committed corpus is only read.
fuzz-libfuzzer: t/fuzz/fuzz-libfuzzer
	$(MKDIR_P) t/fuzz/fuzz-corpus.new
	t/fuzz/fuzz-libfuzzer -max_total_time=$(FUZZ_TIME) -artifact_prefix=t/fuzz/fuzz- \
	  t/fuzz/fuzz-corpus.new $(srcdir)/t/fuzz/fuzz-corpus

.PHONY: fuzz-libfuzzer
