/* Server management's environment variables (see server_env.h). */
#include "server/server_env.h"

#include <math.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/log.h"

double server_env_seconds(const char *name, double dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	double d = strtod(v, &end);
	if (*end || !isfinite(d) || d < 0) {
		log_warn("%s='%s' is not a number of seconds >= 0; using %g", name, v, dflt);
		return dflt;
	}
	/* a longer wait is "never": held at ~10 years so that now + it cannot overflow (a wrapped
	 * deadline had passed at once: 1e10 s of stop grace sent SIGKILL without waiting) */
	return d < CLOCK_SPAN_MAX_S ? d : CLOCK_SPAN_MAX_S;
}
