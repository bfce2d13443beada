#ifndef VK_TEST_TCP_PAIR_H
#define VK_TEST_TCP_PAIR_H
/* A connected loopback TCP pair for socket-level client tests: *rx reads (with kernel receive
 * timestamps when stamped), *tx writes (TCP_NODELAY). Fails the running cmocka test on error. */
#include <stdbool.h>

void tcp_pair(int *rx, int *tx, bool stamped);

#endif
