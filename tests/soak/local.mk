# SPDX-License-Identifier: LGPL-2.1-or-later
# The differential soak (tests/soak/soak.h says what it is).
#   make soak SECONDS=N [SEED=S [PROGRAM=I]]   random programs for N seconds
#   make soak-helgrind SECONDS=N               smaller ones under helgrind
#   make soak-drd SECONDS=N                    and under DRD
# SOAK_FLAGS adds options (tests/soak/soak.c lists them). The fixed part,
# tests/test-soak, is in make check. Include this file after the first
# assignments to EXTRA_PROGRAMS, CLEANFILES, EXTRA_DIST, check_PROGRAMS and
# TESTS.

soak_sources = tests/soak/soak.h tests/soak/model.c tests/soak/program.c \
	tests/soak/run.c tests/soak/shrink.c

EXTRA_PROGRAMS += tests/soak/soak
CLEANFILES += tests/soak/soak
tests_soak_soak_SOURCES = tests/soak/soak.c $(soak_sources)
tests_soak_soak_LDADD = lib/libcothread.la $(PTHREAD_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/test-soak
TESTS += tests/test-soak
tests_test_soak_SOURCES = tests/test-soak.c $(soak_sources)
tests_test_soak_CFLAGS = $(harness_cflags)
tests_test_soak_LDADD = $(harness_ldadd)
endif

SECONDS = 60
SEED =
PROGRAM =
SOAK_FLAGS =
soak: tests/soak/soak
	@args='--seconds $(SECONDS)'; \
	if test -n '$(SEED)'; then args="$$args --seed $(SEED)"; fi; \
	if test -n '$(PROGRAM)'; then args="$$args --program $(PROGRAM)"; fi; \
	echo "tests/soak/soak $$args $(SOAK_FLAGS)"; \
	$(LIBTOOL) --mode=execute $(TEST_RUNNER) ./tests/soak/soak $$args $(SOAK_FLAGS)

# Children of the soak run under the tool too; their reports go to stderr
# and make their exit status 99, which the soak reports as a failure.
SOAK_VALGRIND_FLAGS = -q --num-callers=30 --error-exitcode=99 --child-silent-after-fork=no
soak-helgrind soak-drd: tests/soak/soak
	@if test -z '$(VALGRIND)'; then \
		echo "$@: valgrind not found or disabled (configure --enable-valgrind)" >&2; \
		exit 1; \
	fi
	@tool=`echo $@ | sed 's/^soak-//'`; \
	case $$tool in helgrind) flags='$(VALGRIND_helgrind_FLAGS)' ;; \
	*) flags='$(VALGRIND_drd_FLAGS)' ;; esac; \
	args='--small --seconds $(SECONDS)'; \
	if test -n '$(SEED)'; then args="$$args --seed $(SEED)"; fi; \
	if test -n '$(PROGRAM)'; then args="$$args --program $(PROGRAM)"; fi; \
	echo "valgrind --tool=$$tool tests/soak/soak $$args $(SOAK_FLAGS)"; \
	$(LIBTOOL) --mode=execute $(VALGRIND) --tool=$$tool $(VALGRIND_SUPPRESSIONS) \
		$(SOAK_VALGRIND_FLAGS) $$flags \
		./tests/soak/soak $$args $(SOAK_FLAGS)
.PHONY: soak soak-helgrind soak-drd

EXTRA_DIST += tests/soak/local.mk
