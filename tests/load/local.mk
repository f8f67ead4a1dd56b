# SPDX-License-Identifier: LGPL-2.1-or-later
# The long-running load (issue 11 part 3): make check-load, never part of
# make check, since it holds 10,000 threads. tests/test-load, a tiny version
# of the same workload, is part of make check. LOAD_FLAGS passes options to
# the main run, for example LOAD_FLAGS="--ops 400000". Include this file
# after the first assignments to EXTRA_PROGRAMS, CLEANFILES, EXTRA_DIST and
# TESTS.

EXTRA_PROGRAMS += tests/load/load
CLEANFILES += tests/load/load
tests_load_load_SOURCES = tests/load/load.c tests/load/workload.c tests/load/workload.h
tests_load_load_LDADD = lib/libcothread.la $(PTHREAD_LIBS)

LOAD_FLAGS =
check-load: tests/load/load
	LOAD='$(LIBTOOL) --mode=execute ./tests/load/load' \
		$(SHELL) $(srcdir)/tests/load/check-load.sh $(LOAD_FLAGS)
.PHONY: check-load

if HAVE_CMOCKA
check_PROGRAMS += tests/test-load
TESTS += tests/test-load
tests_test_load_SOURCES = tests/test-load.c tests/load/workload.c tests/load/workload.h
tests_test_load_CFLAGS = $(harness_cflags)
tests_test_load_LDADD = $(harness_ldadd)
endif

EXTRA_DIST += tests/load/local.mk tests/load/check-load.sh
