# tools/local.mk - the programs behind hmm-run --compare and --heap-map;
# included by the top-level Makefile.am.  They live in libhmm's libexec
# directory (/usr/libexec/libhmm), which the installed hmm-run names; the
# build tree's hmm-run runs the scripts from the source tree and the
# launcher from the build tree.

hmmtoolsdir = $(pkglibexecdir)
hmmtools_PROGRAMS = tools/hmm-spawn
tools_hmm_spawn_SOURCES = tools/hmm-spawn.c
tools_hmm_spawn_CFLAGS = -O2 $(AM_CFLAGS)
dist_hmmtools_SCRIPTS = tools/hmm-compare tools/hmm-heap-map
dist_hmmtools_DATA = tools/hmm_allocators.py tools/hmm_command.py tools/hmm_plot.py
