/* The simulator in CTest:
 *
 * - test_seeds: SIM_SEEDS seeds (default 200, env ZK_SIM_SEEDS overrides, first seed env
 *   ZK_SIM_FIRST) as `zk-sim --seed S` runs them: each seed chooses 3 or 5 voters and 0 to 3
 *   observers; a few simulated seconds of faults, then the liveness phase.
 * - test_observer_seeds: OBS_SEEDS more seeds (default 200, env ZK_SIM_OBS_SEEDS; from env
 *   ZK_SIM_OBS_FIRST, default 1000001), only seeds that choose observers (others are skipped,
 *   so each one is still reproduced by plain `zk-sim --seed S`). About half of them run the
 *   minority phase (a minority of the voters plus the observers can talk: nothing may commit).
 * - the same seed run twice gives the same trace hash, without and with observers.
 *
 * Seeds run in ZK_SIM_JOBS worker processes (default 2, the CI machine's cores); a failing seed
 * is printed with the command that reproduces it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim.h"

#define SIM_SEEDS_DEFAULT 200
#define SIM_OBS_SEEDS_DEFAULT 200
#define SIM_OBS_FIRST_DEFAULT 1000001
#define SIM_JOBS_DEFAULT 2
#define SIM_JOBS_MAX 16

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

static void same_trace(uint64_t seed)
{
	struct sim_opts o = {.quiet = true};
	struct sim_result a, b;
	sim_run(seed, &o, &a);
	sim_run(seed, &o, &b);
	if (a.trace != b.trace || a.events != b.events)
		fail_msg("seed %" PRIu64 " ran twice: trace %016" PRIx64 " (%" PRIu64 " events) vs %016" PRIx64 " (%" PRIu64
			 " events): the simulation is not deterministic",
			 seed, a.trace, a.events, b.trace, b.events);
}

static void test_same_seed_same_trace(void **state)
{
	(void)state;
	same_trace(7);        /* 3 voters, no observers */
	same_trace(1000002);  /* 5 voters, 3 observers, a minority phase */
}

/* What a worker sends back per seed: one fixed-size record on its pipe. */
struct seed_report {
	uint64_t seed;
	bool failed;
	char what[64];
	char detail[512];
	uint64_t events;
	int observers;
	uint64_t minority_phases, commit_checks, obs_reads, obs_writes;
};

static bool wanted(uint64_t seed, bool observers_only)
{
	if (!observers_only)
		return true;
	struct sim_knobs k;
	sim_knobs_from_seed(&k, seed);
	return k.observers > 0;
}

/* Runs `count` wanted seeds from `first` in worker processes and fails the test if any failed. */
static void run_seeds(const char *name, uint64_t first, uint64_t count, bool observers_only)
{
	uint64_t *seeds = calloc(count ? count : 1, sizeof(*seeds));
	assert_non_null(seeds);
	uint64_t n = 0;
	for (uint64_t s = first; n < count; s++)
		if (wanted(s, observers_only))
			seeds[n++] = s;
	int jobs = (int)env_u64("ZK_SIM_JOBS", SIM_JOBS_DEFAULT);
	if (jobs < 1)
		jobs = 1;
	if (jobs > SIM_JOBS_MAX)
		jobs = SIM_JOBS_MAX;
	int fds[SIM_JOBS_MAX];
	pid_t pids[SIM_JOBS_MAX];
	fflush(stdout);
	for (int j = 0; j < jobs; j++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			for (uint64_t i = (uint64_t)j; i < n; i += (uint64_t)jobs) {
				struct sim_opts o = {.quiet = true};
				struct sim_result r;
				struct seed_report rep;
				memset(&rep, 0, sizeof(rep));
				rep.seed = seeds[i];
				rep.failed = sim_run(seeds[i], &o, &r) != 0;
				fflush(stdout);
				memcpy(rep.what, r.what, sizeof(rep.what));
				memcpy(rep.detail, r.detail, sizeof(rep.detail));
				rep.events = r.events;
				rep.observers = r.observers;
				rep.minority_phases = r.minority_phases;
				rep.commit_checks = r.commit_checks;
				rep.obs_reads = r.obs_reads;
				rep.obs_writes = r.obs_writes;
				if (write(p[1], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
					_exit(3);
			}
			close(p[1]);
			_exit(0);
		}
		close(p[1]);
		fds[j] = p[0];
		pids[j] = pid;
	}
	uint64_t failed = 0, events = 0, got = 0, with_obs = 0, minority = 0, commits = 0, oreads = 0, owrites = 0;
	char failures[1024] = "";
	size_t fl = 0;
	for (int j = 0; j < jobs; j++) {
		struct seed_report rep;
		for (;;) {
			size_t have = 0;
			while (have < sizeof(rep)) {
				ssize_t r = read(fds[j], (char *)&rep + have, sizeof(rep) - have);
				if (r <= 0)
					break;
				have += (size_t)r;
			}
			if (have < sizeof(rep))
				break;
			got++;
			events += rep.events;
			with_obs += rep.observers > 0;
			minority += rep.minority_phases;
			commits += rep.commit_checks;
			oreads += rep.obs_reads;
			owrites += rep.obs_writes;
			if (rep.failed) {
				failed++;
				printf("FAILED seed %" PRIu64 ": %s: %s\n  reproduce: tests/sim/zk-sim --seed %" PRIu64 " -v\n", rep.seed,
				       rep.what, rep.detail, rep.seed);
				if (fl < sizeof(failures) - 32)
					fl += (size_t)snprintf(failures + fl, sizeof(failures) - fl, " %" PRIu64 "(%s)", rep.seed,
							       rep.what);
			}
		}
		close(fds[j]);
		int st = 0;
		waitpid(pids[j], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			printf("%s: worker %d ended with status 0x%x\n", name, j, st);
	}
	printf("%s: %" PRIu64 " seeds (%" PRIu64 "..%" PRIu64 "%s), %" PRIu64 " with observers, %" PRIu64
	       " minority phases, %" PRIu64 " commits checked against the voters' disks, observer clients: %" PRIu64
	       " reads %" PRIu64 " writes; %" PRIu64 " failed, %" PRIu64 " events\n",
	       name, n, n ? seeds[0] : first, n ? seeds[n - 1] : first, observers_only ? ", only seeds with observers" : "",
	       with_obs, minority, commits, oreads, owrites, failed, events);
	free(seeds);
	if (got != n)
		fail_msg("%s: %" PRIu64 " of %" PRIu64 " seeds reported (a worker crashed?)", name, got, n);
	if (failed)
		fail_msg("%" PRIu64 " of %" PRIu64 " seeds failed:%s", failed, n, failures);
}

static void test_seeds(void **state)
{
	(void)state;
	run_seeds("simulator", env_u64("ZK_SIM_FIRST", 1), env_u64("ZK_SIM_SEEDS", SIM_SEEDS_DEFAULT), false);
}

static void test_observer_seeds(void **state)
{
	(void)state;
	run_seeds("simulator with observers", env_u64("ZK_SIM_OBS_FIRST", SIM_OBS_FIRST_DEFAULT),
		  env_u64("ZK_SIM_OBS_SEEDS", SIM_OBS_SEEDS_DEFAULT), true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_trace),
		cmocka_unit_test(test_seeds),
		cmocka_unit_test(test_observer_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
