/*
 * libFuzzer target for the config loader: the input becomes a config file
 * in a private directory (so relative @includes resolve there, including
 * the directory itself and the file including itself) and is loaded. The
 * loader must never crash, leak, hang or exit, whatever the bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char dir[64];
static char path[96];

static void on_problem(void *user, const char *file, unsigned line,
		       const char *message)
{
	size_t *n = user;

	/* touch every byte so ASan checks the strings handed out */
	*n += strlen(file) + line + strlen(message);
}

/*
 * libconfig 1.5's parser leaks the string token it is holding when it hits
 * a syntax error (bison discards the token without a destructor), e.g. on
 * `"a" "b" x`. That is libconfig's bug, not ours: a few bytes per invalid
 * reload. Ours are still checked; only leaks allocated inside libconfig
 * are suppressed.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gw_config *cfg = NULL;
	size_t n = 0;
	FILE *f;

	if (!dir[0]) {
		strcpy(dir, "/tmp/fuzz_config_XXXXXX");
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/main.conf", dir);
		/* something to @include "sub" (a directory) and "x.conf" */
		char sub[96];
		snprintf(sub, sizeof(sub), "%s/sub", dir);
		mkdir(sub, 0700);
		snprintf(sub, sizeof(sub), "%s/x.conf", dir);
		f = fopen(sub, "w");
		if (!f)
			abort();
		fputs("devices = ( { name = \"k\"; address = \"::1\"; } );\n",
		      f);
		fclose(f);
	}
	f = fopen(path, "w");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (gw_config_load(path, &cfg, on_problem, &n) == 0) {
		if (!cfg)
			abort();
		gw_config_free(cfg);
	} else if (cfg) {
		abort(); /* a failed load must not hand out a config */
	}
	return 0;
}
