# SPDX-License-Identifier: LGPL-2.1-or-later
# Seeded-race corpus: make check-races (never part of make check).
# Every case is built twice: against libcothread, and against stackswitch.c,
# the stack-switching control. check-races.sh runs both under the analysis
# tools and compares the races they report. Include this file after the
# first assignments to EXTRA_PROGRAMS, CLEANFILES and EXTRA_DIST.

race_programs = \
	tests/races/race-chain \
	tests/races/race-chain-control \
	tests/races/race-churn \
	tests/races/race-churn-control \
	tests/races/race-create-after-finish \
	tests/races/race-create-after-finish-control \
	tests/races/race-create-only \
	tests/races/race-create-only-control \
	tests/races/race-first-self \
	tests/races/race-first-self-control \
	tests/races/race-nested \
	tests/races/race-nested-control \
	tests/races/race-own-coroutine \
	tests/races/race-own-coroutine-control \
	tests/races/race-plain-reader \
	tests/races/race-plain-reader-control \
	tests/races/race-resume-handoff \
	tests/races/race-resume-handoff-control \
	tests/races/race-tunables \
	tests/races/race-tunables-control \
	tests/races/ok-churn-mutex \
	tests/races/ok-churn-mutex-control \
	tests/races/ok-enter-yield \
	tests/races/ok-enter-yield-control \
	tests/races/ok-generator \
	tests/races/ok-generator-control \
	tests/races/ok-nested \
	tests/races/ok-nested-control \
	tests/races/ok-resume-handoff \
	tests/races/ok-resume-handoff-control \
	tests/races/ok-resume-atomic \
	tests/races/ok-resume-atomic-control \
	tests/races/ok-self-many \
	tests/races/ok-self-many-control \
	tests/races/lock-order-comutex \
	tests/races/ok-comutex \
	tests/races/ok-corwlock-downgrade \
	tests/races/race-comutex-waiter \
	tests/races/race-corwlock-readers \
	tests/races/race-downgrade-reader \
	tests/races/race-coqueue-waker \
	tests/races/race-coqueue-empty \
	tests/races/ok-exit-holding-comutex \
	tests/races/ok-exit-upgrading \
	tests/races/ok-settings-getters
EXTRA_PROGRAMS += $(race_programs)
CLEANFILES += $(race_programs) tests/races/*.log

# Each cothread build uses its default source, tests/races/CASE.c.
# -g whatever CFLAGS says: the verdicts need file and line in every report.
race_cflags = $(AM_CFLAGS) -g
race_ldadd = lib/libcothread.la $(PTHREAD_LIBS)
race_control_sources = tests/races/stackswitch.c
race_control_ldadd = $(PTHREAD_LIBS)

tests_races_race_chain_CFLAGS = $(race_cflags)
tests_races_race_chain_LDADD = $(race_ldadd)
tests_races_race_chain_control_SOURCES = tests/races/race-chain.c $(race_control_sources)
tests_races_race_chain_control_CFLAGS = $(race_cflags)
tests_races_race_chain_control_LDADD = $(race_control_ldadd)
tests_races_race_churn_CFLAGS = $(race_cflags)
tests_races_race_churn_LDADD = $(race_ldadd)
tests_races_race_churn_control_SOURCES = tests/races/race-churn.c $(race_control_sources)
tests_races_race_churn_control_CFLAGS = $(race_cflags)
tests_races_race_churn_control_LDADD = $(race_control_ldadd)
tests_races_race_create_after_finish_CFLAGS = $(race_cflags)
tests_races_race_create_after_finish_LDADD = $(race_ldadd)
tests_races_race_create_after_finish_control_SOURCES = tests/races/race-create-after-finish.c $(race_control_sources)
tests_races_race_create_after_finish_control_CFLAGS = $(race_cflags)
tests_races_race_create_after_finish_control_LDADD = $(race_control_ldadd)
tests_races_race_create_only_CFLAGS = $(race_cflags)
tests_races_race_create_only_LDADD = $(race_ldadd)
tests_races_race_create_only_control_SOURCES = tests/races/race-create-only.c $(race_control_sources)
tests_races_race_create_only_control_CFLAGS = $(race_cflags)
tests_races_race_create_only_control_LDADD = $(race_control_ldadd)
tests_races_race_first_self_CFLAGS = $(race_cflags)
tests_races_race_first_self_LDADD = $(race_ldadd)
tests_races_race_first_self_control_SOURCES = tests/races/race-first-self.c $(race_control_sources)
tests_races_race_first_self_control_CFLAGS = $(race_cflags)
tests_races_race_first_self_control_LDADD = $(race_control_ldadd)
tests_races_race_nested_CFLAGS = $(race_cflags)
tests_races_race_nested_LDADD = $(race_ldadd)
tests_races_race_nested_control_SOURCES = tests/races/race-nested.c $(race_control_sources)
tests_races_race_nested_control_CFLAGS = $(race_cflags)
tests_races_race_nested_control_LDADD = $(race_control_ldadd)
tests_races_race_own_coroutine_CFLAGS = $(race_cflags)
tests_races_race_own_coroutine_LDADD = $(race_ldadd)
tests_races_race_own_coroutine_control_SOURCES = tests/races/race-own-coroutine.c $(race_control_sources)
tests_races_race_own_coroutine_control_CFLAGS = $(race_cflags)
tests_races_race_own_coroutine_control_LDADD = $(race_control_ldadd)
tests_races_race_plain_reader_CFLAGS = $(race_cflags)
tests_races_race_plain_reader_LDADD = $(race_ldadd)
tests_races_race_plain_reader_control_SOURCES = tests/races/race-plain-reader.c $(race_control_sources)
tests_races_race_plain_reader_control_CFLAGS = $(race_cflags)
tests_races_race_plain_reader_control_LDADD = $(race_control_ldadd)
tests_races_race_resume_handoff_CFLAGS = $(race_cflags)
tests_races_race_resume_handoff_LDADD = $(race_ldadd)
tests_races_race_resume_handoff_control_SOURCES = tests/races/race-resume-handoff.c $(race_control_sources)
tests_races_race_resume_handoff_control_CFLAGS = $(race_cflags)
tests_races_race_resume_handoff_control_LDADD = $(race_control_ldadd)
tests_races_race_tunables_CFLAGS = $(race_cflags)
tests_races_race_tunables_LDADD = $(race_ldadd)
tests_races_race_tunables_control_SOURCES = tests/races/race-tunables.c $(race_control_sources)
tests_races_race_tunables_control_CFLAGS = $(race_cflags)
tests_races_race_tunables_control_LDADD = $(race_control_ldadd)
tests_races_ok_churn_mutex_CFLAGS = $(race_cflags)
tests_races_ok_churn_mutex_LDADD = $(race_ldadd)
tests_races_ok_churn_mutex_control_SOURCES = tests/races/ok-churn-mutex.c $(race_control_sources)
tests_races_ok_churn_mutex_control_CFLAGS = $(race_cflags)
tests_races_ok_churn_mutex_control_LDADD = $(race_control_ldadd)
tests_races_ok_enter_yield_CFLAGS = $(race_cflags)
tests_races_ok_enter_yield_LDADD = $(race_ldadd)
tests_races_ok_enter_yield_control_SOURCES = tests/races/ok-enter-yield.c $(race_control_sources)
tests_races_ok_enter_yield_control_CFLAGS = $(race_cflags)
tests_races_ok_enter_yield_control_LDADD = $(race_control_ldadd)
tests_races_ok_generator_CFLAGS = $(race_cflags)
tests_races_ok_generator_LDADD = $(race_ldadd)
tests_races_ok_generator_control_SOURCES = tests/races/ok-generator.c $(race_control_sources)
tests_races_ok_generator_control_CFLAGS = $(race_cflags)
tests_races_ok_generator_control_LDADD = $(race_control_ldadd)
tests_races_ok_nested_CFLAGS = $(race_cflags)
tests_races_ok_nested_LDADD = $(race_ldadd)
tests_races_ok_nested_control_SOURCES = tests/races/ok-nested.c $(race_control_sources)
tests_races_ok_nested_control_CFLAGS = $(race_cflags)
tests_races_ok_nested_control_LDADD = $(race_control_ldadd)
tests_races_ok_resume_handoff_CFLAGS = $(race_cflags)
tests_races_ok_resume_handoff_LDADD = $(race_ldadd)
tests_races_ok_resume_handoff_control_SOURCES = tests/races/ok-resume-handoff.c $(race_control_sources)
tests_races_ok_resume_handoff_control_CFLAGS = $(race_cflags)
tests_races_ok_resume_handoff_control_LDADD = $(race_control_ldadd)
tests_races_ok_resume_atomic_CFLAGS = $(race_cflags)
tests_races_ok_resume_atomic_LDADD = $(race_ldadd)
tests_races_ok_resume_atomic_control_SOURCES = tests/races/ok-resume-atomic.c $(race_control_sources)
tests_races_ok_resume_atomic_control_CFLAGS = $(race_cflags)
tests_races_ok_resume_atomic_control_LDADD = $(race_control_ldadd)
tests_races_ok_self_many_CFLAGS = $(race_cflags)
tests_races_ok_self_many_LDADD = $(race_ldadd)
tests_races_ok_self_many_control_SOURCES = tests/races/ok-self-many.c $(race_control_sources)
tests_races_ok_self_many_control_CFLAGS = $(race_cflags)
tests_races_ok_self_many_control_LDADD = $(race_control_ldadd)
# Coroutine locks have no stack-switching control: there every coroutine of
# a thread is that thread, and the tools cannot tell coroutines apart.
tests_races_lock_order_comutex_CFLAGS = $(race_cflags)
tests_races_lock_order_comutex_LDADD = $(race_ldadd)
tests_races_ok_comutex_CFLAGS = $(race_cflags)
tests_races_ok_comutex_LDADD = $(race_ldadd)
tests_races_ok_corwlock_downgrade_CFLAGS = $(race_cflags)
tests_races_ok_corwlock_downgrade_LDADD = $(race_ldadd)
# A race on a coroutine lock or queue has no control either: it must be
# reported in every run, as with the pthread lock in its place.
tests_races_race_comutex_waiter_CFLAGS = $(race_cflags)
tests_races_race_comutex_waiter_LDADD = $(race_ldadd)
tests_races_race_corwlock_readers_CFLAGS = $(race_cflags)
tests_races_race_corwlock_readers_LDADD = $(race_ldadd)
tests_races_race_downgrade_reader_CFLAGS = $(race_cflags)
tests_races_race_downgrade_reader_LDADD = $(race_ldadd)
tests_races_race_coqueue_waker_CFLAGS = $(race_cflags)
tests_races_race_coqueue_waker_LDADD = $(race_ldadd)
tests_races_race_coqueue_empty_CFLAGS = $(race_cflags)
tests_races_race_coqueue_empty_LDADD = $(race_ldadd)
tests_races_ok_exit_holding_comutex_CFLAGS = $(race_cflags)
tests_races_ok_exit_holding_comutex_LDADD = $(race_ldadd)
tests_races_ok_exit_upgrading_CFLAGS = $(race_cflags)
tests_races_ok_exit_upgrading_LDADD = $(race_ldadd)
# cothread's own calls: nothing to compare with stack switching.
tests_races_ok_settings_getters_CFLAGS = $(race_cflags)
tests_races_ok_settings_getters_LDADD = $(race_ldadd)

# The tools follow the build: ThreadSanitizer in a --enable-sanitizer=thread
# build (its programs cannot run under valgrind), helgrind and DRD otherwise.
# RACE_TOOLS="helgrind drd tsan" and RUNS=N override. valgrind 3.19 cannot
# read clang 14's default DWARF 5: configure clang builds with
# CFLAGS="-O2 -gdwarf-4".
check-races: $(race_programs)
	@tools='$(RACE_TOOLS)'; \
	if test -z "$$tools"; then \
		case ' $(SANITIZER_FLAGS) ' in \
		*' -fsanitize=thread '*) tools=tsan ;; \
		*) tools='helgrind drd' ;; \
		esac; \
	fi; \
	case " $$tools " in *' helgrind '* | *' drd '*) \
		if test -z '$(VALGRIND)'; then \
			echo "check-races: valgrind is needed for helgrind and drd: install it and configure with --enable-valgrind (or build with --enable-sanitizer=thread for tsan)" >&2; \
			exit 1; \
		fi ;; \
	esac; \
	cases=; for p in $(race_programs); do \
		case $$p in *-control) ;; *) cases="$$cases $${p##*/}" ;; esac; \
	done; \
	LIBTOOL='$(LIBTOOL)' VALGRIND='$(VALGRIND) $(VALGRIND_SUPPRESSIONS)' RUNS='$(RUNS)' \
		RACE_CASES="$$cases" RACE_BUILDDIR=tests/races \
		RACE_SRCDIR='$(srcdir)/tests/races' \
		$(SHELL) $(srcdir)/tests/races/check-races.sh $$tools
.PHONY: check-races

EXTRA_DIST += tests/races/check-races.sh tests/races/local.mk tests/races/race-util.h \
	tests/races/plain-churn.c

# ThreadSanitizer on an application built with it, linked with a library
# built without it (as a distribution's would be): the library's pthread
# calls reach TSan through its interceptors, its atomics not at all. The
# cases are built from their sources here, against this build's shared
# library, and judged as above, all as cothread-only cases.
tsan_app_dir = tests/races/tsan-app
check-races-tsan-app: lib/libcothread.la
	@case ' $(SANITIZER_FLAGS) ' in *' -fsanitize='*) \
		echo "check-races-tsan-app: needs a build without sanitizers" >&2; exit 1 ;; \
	esac; \
	mkdir -p $(tsan_app_dir); cases=; \
	for p in $(race_programs); do \
		case $$p in *-control) continue ;; esac; \
		c=$${p##*/}; cases="$$cases $$c"; \
		$(CC) -std=gnu11 -g -O1 -fsanitize=thread -I. -I$(srcdir)/include \
			-I$(srcdir)/tests/races $(srcdir)/tests/races/$$c.c \
			-o $(tsan_app_dir)/$$c lib/.libs/libcothread.so \
			-Wl,-rpath,$(abs_builddir)/lib/.libs -pthread $(PTHREAD_LIBS) || exit 1; \
	done; \
	LIBTOOL='$(LIBTOOL)' RACE_CASES="$$cases" RACE_BUILDDIR=$(tsan_app_dir) RACE_ORDER_ANYWHERE=1 \
		RACE_SRCDIR='$(srcdir)/tests/races' RUNS='$(RUNS)' \
		$(SHELL) $(srcdir)/tests/races/check-races.sh tsan
.PHONY: check-races-tsan-app

clean-local: clean-tsan-app
clean-tsan-app:
	-rm -rf $(tsan_app_dir)
.PHONY: clean-tsan-app
