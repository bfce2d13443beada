/* Loopback TCP pair for tests (see tcp_pair.h). */
#include "tcp_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client_rxstamp.h"

void tcp_pair(int *rx, int *tx, bool stamped)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
	assert_int_equal(listen(l, 1), 0);
	*rx = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*rx >= 0);
	if (stamped)
		client_rxstamp_enable(*rx);
	assert_int_equal(connect(*rx, (struct sockaddr *)&a, sizeof a), 0);
	*tx = accept(l, NULL, NULL);
	assert_true(*tx >= 0);
	int on = 1;
	setsockopt(*tx, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
	close(l);
}
