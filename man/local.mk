# man/local.mk - manual pages and Debian packaging files; included by the
# top-level Makefile.am (owned by the debian helper).

dist_man_MANS += \
	man/hmm-run.1 \
	man/HmmAlloc.3 \
	man/HmmFree.3 \
	man/HmmCalloc.3 \
	man/HmmRealloc.3 \
	man/HmmAlignedAlloc.3 \
	man/HmmUsableSize.3 \
	man/HmmGetStats.3 \
	man/HmmPrintStats.3 \
	man/libhmm.7

EXTRA_DIST += \
	debian/changelog \
	debian/control \
	debian/copyright \
	debian/libhmm-dev.install \
	debian/libhmm.install \
	debian/libhmm.lintian-overrides \
	debian/libhmm1.install \
	debian/libhmm1.lintian-overrides \
	debian/libhmm1.symbols \
	debian/not-installed \
	debian/rules \
	debian/source/format \
	debian/tests/build \
	debian/tests/control \
	debian/tests/hmm-run \
	t/debian-path.sh

# The pages' own checks: mandoc's linter and groff's warnings through man(1).
# Not part of "make check" (mandoc and man-db may be missing).
MAN_LINT_PAGES = man/hmm-run.1 man/HmmAlloc.3 man/HmmAlignedAlloc.3 \
	man/HmmUsableSize.3 man/HmmGetStats.3 man/libhmm.7
lint-man:
	@cd $(srcdir) && out=$$(mandoc -Tlint $(MAN_LINT_PAGES) 2>&1); \
	  if test -n "$$out"; then echo "$$out"; exit 1; fi
	@cd $(srcdir) && for p in $(MAN_LINT_PAGES); do \
	  out=$$(LC_ALL=C.UTF-8 MANROFFSEQ='' man --warnings -E UTF-8 -l -Tutf8 -Z $$p 2>&1 >/dev/null); \
	  if test -n "$$out"; then echo "$$p: $$out"; exit 1; fi; \
	done
.PHONY: lint-man
