/*
 * runner: the main() of every Check program -- run one suite with
 * CK_FORK on (a crash fails one case, not the run) and turn the result
 * into the exit status ctest reads.
 */
#ifndef RUNNER_H
#define RUNNER_H

#include <check.h>
#include <stdlib.h>

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
