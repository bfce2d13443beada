#ifndef VK_CORE_NUM_H
#define VK_CORE_NUM_H
/* Numbers read from outside (JSON files and server answers hold doubles) turned into integers
 * without undefined behaviour: C leaves a conversion of an out-of-range double to an integer type
 * undefined, and a hostile or broken input can hold 1e300. */
#include <stdint.h>

/* v truncated toward zero, saturated at INT64_MIN / INT64_MAX; NaN is 0. */
int64_t num_f64_to_i64(double v);

#endif
