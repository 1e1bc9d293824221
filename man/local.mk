# man/local.mk - manual pages and Debian packaging files; included by the
# top-level Makefile.am (owned by the debian helper).

dist_man_MANS += \
	man/hmm-run.1 \
	man/HmmAlloc.3 \
	man/HmmAlignedAlloc.3 \
	man/HmmUsableSize.3 \
	man/HmmGetStats.3 \
	man/libhmm.7

# Names documented on another function's page are installed as symbolic
# links to it (LINK:PAGE), rather than as ".so" stubs, which mandoc calls
# fragile.  Debian's dh_compress keeps them pointing at the compressed page.
MAN3_LINKS = HmmFree.3:HmmAlloc.3 HmmCalloc.3:HmmAlloc.3 \
	HmmRealloc.3:HmmAlloc.3 HmmPrintStats.3:HmmGetStats.3

install-data-hook: install-man3-links
install-man3-links:
	@$(NORMAL_INSTALL)
	@cd '$(DESTDIR)$(man3dir)' && for pair in $(MAN3_LINKS); do \
	  link=$${pair%%:*}; page=$${pair#*:}; \
	  echo " ln -s $$page '$(DESTDIR)$(man3dir)/$$link'"; \
	  rm -f "$$link" && ln -s "$$page" "$$link" || exit 1; \
	done

uninstall-hook: uninstall-man3-links
uninstall-man3-links:
	@$(NORMAL_UNINSTALL)
	@for pair in $(MAN3_LINKS); do \
	  link=$${pair%%:*}; \
	  echo " rm -f '$(DESTDIR)$(man3dir)/$$link'"; \
	  rm -f "$(DESTDIR)$(man3dir)/$$link"; \
	done

.PHONY: install-man3-links uninstall-man3-links

EXTRA_DIST += \
	debian/changelog \
	debian/control \
	debian/copyright \
	debian/libhmm-dev.install \
	debian/libhmm.install \
	debian/libhmm1.install \
	debian/libhmm1.lintian-overrides \
	debian/libhmm1.symbols \
	debian/not-installed \
	debian/rules \
	debian/source/format \
	debian/tests/build \
	debian/tests/control \
	debian/tests/hmm-run \
	t/programs/debian-path.sh

# The pages' own checks: mandoc's linter and groff's warnings through man(1).
# Not part of "make check" (mandoc and man-db may be missing).
MAN_LINT_PAGES = $(dist_man_MANS)
lint-man:
	@cd $(srcdir) && out=$$(mandoc -Tlint $(MAN_LINT_PAGES) 2>&1); \
	  if test -n "$$out"; then echo "$$out"; exit 1; fi
	@cd $(srcdir) && for p in $(MAN_LINT_PAGES); do \
	  out=$$(LC_ALL=C.UTF-8 MANROFFSEQ='' man --warnings -E UTF-8 -l -Tutf8 -Z $$p 2>&1 >/dev/null); \
	  if test -n "$$out"; then echo "$$p: $$out"; exit 1; fi; \
	done
.PHONY: lint-man
