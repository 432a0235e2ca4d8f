/* zk-sim: runs one seed of the simulator (sim.h) and prints its knobs, a summary with the trace
 * hash, and on failure the check that failed with the last trace lines.
 *
 *   zk-sim --seed S [--nodes N] [--observers M] [--minority | --no-minority] [--steps K] [--faults MS]
 *          [-v] [-q]
 *
 * Exit status 0 = every check passed, 1 = a check failed, 2 = usage. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void usage(void)
{
	fprintf(stderr, "usage: zk-sim --seed S [--nodes N] [--observers M] [--minority | --no-minority] [--steps K]\n"
			"              [--faults MS] [-v] [-q]\n"
			"  --nodes N    voters (default: from the seed, 3 or 5; at most %d)\n"
			"  --observers M  observers (default: from the seed, 0 to 3; at most %d)\n"
			"  --minority   with observers: always a minority phase (a minority of the voters plus\n"
			"               the observers can talk, nothing may commit); --no-minority: never\n"
			"  --steps K    end the fault phase after K events (default: by simulated time)\n"
			"  --faults MS  length of the fault phase in simulated ms (default: from the seed)\n"
			"  -v           print every node log line and simulator event\n"
			"  -q           print only the result line\n",
		SIM_VOTERS_MAX, SIM_OBSERVERS_MAX);
}

int main(int argc, char **argv)
{
	uint64_t seed = 0;
	bool have_seed = false;
	struct sim_opts o = {0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--seed") && v) {
			seed = strtoull(v, NULL, 0);
			have_seed = true;
			i++;
		} else if (!strcmp(a, "--nodes") && v) {
			o.nodes = atoi(v);
			i++;
		} else if (!strcmp(a, "--observers") && v) {
			o.observers = atoi(v);
			o.set_observers = true;
			i++;
		} else if (!strcmp(a, "--minority")) {
			o.minority = 1;
		} else if (!strcmp(a, "--no-minority")) {
			o.minority = -1;
		} else if (!strcmp(a, "--steps") && v) {
			o.steps = strtoull(v, NULL, 0);
			i++;
		} else if (!strcmp(a, "--faults") && v) {
			o.fault_ms = strtoll(v, NULL, 0);
			i++;
		} else if (!strcmp(a, "-v")) {
			o.verbose = true;
		} else if (!strcmp(a, "-q")) {
			o.quiet = true;
		} else {
			usage();
			return 2;
		}
	}
	if (!have_seed || o.nodes < 0 || o.nodes > SIM_VOTERS_MAX || o.observers < 0 || o.observers > SIM_OBSERVERS_MAX) {
		usage();
		return 2;
	}
	struct sim_result r;
	int rc = sim_run(seed, &o, &r);
	if (o.quiet && !r.failed)
		printf("seed=%" PRIu64 " ok trace=%016" PRIx64 " observers=%d minority=%" PRIu64 "\n", seed, r.trace,
		       r.observers, r.minority_phases);
	return rc ? 1 : 0;
}
