/* Fuzz driver for builds without libFuzzer: replays every file given (or every file of every
 * directory given), then runs a bounded, seeded random-mutation loop over them.
 *   fuzz_x [-runs=N] [-seed=S] [-max_total_time=SECONDS] [-max_len=N] corpus_dir_or_file...
 * Flags follow libFuzzer's spelling so CI can call either build the same way. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	uint8_t *p;
	size_t n;
};

static struct input *inputs;
static size_t n_inputs, cap_inputs;

static void add_input(uint8_t *p, size_t n)
{
	if (n_inputs == cap_inputs) {
		cap_inputs = cap_inputs ? cap_inputs * 2 : 64;
		inputs = realloc(inputs, cap_inputs * sizeof(*inputs));
		if (!inputs)
			exit(2);
	}
	inputs[n_inputs++] = (struct input){p, n};
}

static void load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
	if (p && n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	fclose(f);
	add_input(p, n > 0 ? (size_t)n : 0);
}

static void load(const char *path)
{
	struct stat st;
	if (stat(path, &st))
		return;
	if (!S_ISDIR(st.st_mode)) {
		load_file(path);
		return;
	}
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char full[4096];
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		load_file(full);
	}
	closedir(d);
}

static uint64_t rng;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t mutate(uint8_t *buf, size_t n, size_t max)
{
	int rounds = 1 + (int)(next() % 4);
	for (int r = 0; r < rounds; r++) {
		switch (next() % 7) {
		case 0: /* flip a bit */
			if (n)
				buf[next() % n] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1: /* random byte */
			if (n)
				buf[next() % n] = (uint8_t)next();
			break;
		case 2: /* interesting 32-bit value (lengths, counts) */
			if (n >= 4) {
				static const uint32_t vals[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x100000, 16, 0xfffff};
				uint32_t v = vals[next() % (sizeof(vals) / sizeof(vals[0]))];
				size_t at = next() % (n - 3);
				buf[at] = (uint8_t)(v >> 24);
				buf[at + 1] = (uint8_t)(v >> 16);
				buf[at + 2] = (uint8_t)(v >> 8);
				buf[at + 3] = (uint8_t)v;
			}
			break;
		case 3: /* truncate */
			if (n)
				n = next() % n;
			break;
		case 4: /* insert a byte */
			if (n < max) {
				size_t at = n ? next() % n : 0;
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = (uint8_t)next();
				n++;
			}
			break;
		case 5: /* delete a byte */
			if (n) {
				size_t at = next() % n;
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
			}
			break;
		case 6: /* splice from another input */
			if (n_inputs) {
				struct input *o = &inputs[next() % n_inputs];
				if (o->n) {
					size_t from = next() % o->n, len = next() % (o->n - from + 1);
					size_t at = n ? next() % n : 0;
					if (at + len > max)
						len = max - at;
					memcpy(buf + at, o->p + from, len);
					if (at + len > n)
						n = at + len;
				}
			}
			break;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	long runs = 10000, max_time = 0;
	size_t max_len = 4096;
	rng = 0x9E3779B97F4A7C15ULL;
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "-runs=", 6))
			runs = atol(argv[i] + 6);
		else if (!strncmp(argv[i], "-seed=", 6))
			rng = strtoull(argv[i] + 6, NULL, 10) | 1;
		else if (!strncmp(argv[i], "-max_total_time=", 16))
			max_time = atol(argv[i] + 16);
		else if (!strncmp(argv[i], "-max_len=", 9))
			max_len = (size_t)atol(argv[i] + 9);
		else if (argv[i][0] != '-')
			load(argv[i]);
	}
	for (size_t i = 0; i < n_inputs; i++)
		LLVMFuzzerTestOneInput(inputs[i].p, inputs[i].n);
	printf("replayed %zu corpus inputs\n", n_inputs);
	if (!n_inputs)
		add_input(calloc(1, 1), 0);
	uint8_t *buf = malloc(max_len + 1);
	time_t start = time(NULL);
	long done = 0;
	for (; done < runs; done++) {
		if (max_time && time(NULL) - start >= max_time)
			break;
		struct input *in = &inputs[next() % n_inputs];
		size_t n = in->n > max_len ? max_len : in->n;
		memcpy(buf, in->p, n);
		n = mutate(buf, n, max_len);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("ran %ld mutated inputs, no crash\n", done);
	free(buf);
	return 0;
}
