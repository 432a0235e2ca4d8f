/* The simulator in CTest: SIM_SEEDS seeds (default 200, env ZK_SIM_SEEDS overrides, first seed
 * env ZK_SIM_FIRST) of a few simulated seconds of faults, then the liveness phase; and one seed
 * run twice must give the same trace hash. A failing seed is printed with the command that
 * reproduces it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

#define SIM_SEEDS_DEFAULT 200

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static void test_same_seed_same_trace(void **state)
{
	(void)state;
	struct sim_opts o = {.quiet = true};
	struct sim_result a, b;
	sim_run(7, &o, &a);
	sim_run(7, &o, &b);
	if (a.trace != b.trace || a.events != b.events)
		fail_msg("seed 7 ran twice: trace %016" PRIx64 " (%" PRIu64 " events) vs %016" PRIx64 " (%" PRIu64
			 " events): the simulation is not deterministic",
			 a.trace, a.events, b.trace, b.events);
}

static void test_seeds(void **state)
{
	(void)state;
	uint64_t first = env_u64("ZK_SIM_FIRST", 1), count = env_u64("ZK_SIM_SEEDS", SIM_SEEDS_DEFAULT);
	uint64_t failed = 0, events = 0;
	char failures[1024] = "";
	size_t fl = 0;
	for (uint64_t s = first; s < first + count; s++) {
		struct sim_opts o = {.quiet = true};
		struct sim_result r;
		if (sim_run(s, &o, &r)) {
			failed++;
			printf("FAILED seed %" PRIu64 ": %s: %s\n  reproduce: tests/sim/zk-sim --seed %" PRIu64 " -v\n", s,
			       r.what, r.detail, s);
			if (fl < sizeof(failures) - 32)
				fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, " %" PRIu64 "(%s)", s, r.what);
		}
		events += r.events;
	}
	printf("simulator: %" PRIu64 " seeds from %" PRIu64 ", %" PRIu64 " failed, %" PRIu64 " events\n", count, first,
	       failed, events);
	if (failed)
		fail_msg("%" PRIu64 " of %" PRIu64 " seeds failed:%s", failed, count, failures);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_trace),
		cmocka_unit_test(test_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
