/* sieve-run: the interpreter (being written; implicit keep only). */
#include <string.h>
#include "sieve/sieve-private.h"

int sieve_run(const struct sieve_script *script, const struct sieve_env *env,
	      const struct sieve_limits *lim, struct sieve_result *r,
	      struct sieve_diag *diag_r)
{
	memset(r, 0, sizeof(*r));
	r->implicit_keep = true;
	return 0;
}

void sieve_result_free(struct sieve_result *r)
{
	memset(r, 0, sizeof(*r));
}
