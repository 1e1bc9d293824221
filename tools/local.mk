# tools/local.mk - the programs behind hmm-run --compare and --heap-map;
# included by the top-level Makefile.am.  The Python programs and their
# modules go to libhmm's data directory (/usr/share/libhmm: debhelper makes
# every file under /usr/libexec executable, modules included), the launcher
# to its libexec directory (/usr/libexec/libhmm); the installed hmm-run
# names both.  The build tree's hmm-run runs the Python programs from the
# source tree and the launcher from the build tree.

hmmtoolsdir = $(pkgdatadir)
dist_hmmtools_SCRIPTS = tools/hmm-compare tools/hmm-heap-map
dist_hmmtools_DATA = tools/hmm_allocators.py tools/hmm_command.py tools/hmm_plot.py
pkglibexec_PROGRAMS = tools/hmm-spawn
tools_hmm_spawn_SOURCES = tools/hmm-spawn.c
tools_hmm_spawn_CFLAGS = -O2 $(AM_CFLAGS)
