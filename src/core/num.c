/* Saturating conversions (see num.h). */
#include "core/num.h"

int64_t num_f64_to_i64(double v)
{
	if (v != v)
		return 0;
	if (v >= 9223372036854775808.0) /* 2^63: the first double above INT64_MAX */
		return INT64_MAX;
	if (v <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)v;
}
