/* client/client_pollskip: the one poll libcurl makes right after a short read, or right after a
 * send that took all its bytes, is answered without the kernel ("nothing more"); every other poll
 * is the kernel's answer. recv() and send() here are the program's interposed ones
 * (client_rxstamp, client_pollskip), as libcurl's are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client_pollskip.h"
#include "client/client_rxstamp.h"
#include "tcp_pair.h"

/* poll(fd, events, timeout 0): the answer and whether it was skipped (no kernel call) */
static int poll1(int fd, short events, short *revents, int *skipped)
{
	unsigned long long before = client_pollskip_count();
	struct pollfd p = {.fd = fd, .events = events};
	int r = poll(&p, 1, 0);
	*revents = p.revents;
	*skipped = client_pollskip_count() != before;
	return r;
}

/* Write to tx and wait (bounded, through the kernel) until rx has it. */
static void send_and_wait(int tx, int rx, const char *s)
{
	assert_int_equal(write(tx, s, strlen(s)), (ssize_t)strlen(s));
	struct pollfd p = {.fd = rx, .events = POLLIN};
	assert_int_equal(ppoll(&p, 1, &(struct timespec){.tv_sec = 5}, NULL), 1);
}

static void test_short_read_then_poll_is_skipped_once(void **state)
{
	(void)state;
	assert_true(client_pollskip_on());
	/* (also links client_rxstamp's recv() into this test: with a sanitizer runtime first on the
	 * link line, its recv interceptor would otherwise satisfy the reference) */
	assert_true(client_rxstamp_on());
	int rx, tx;
	tcp_pair(&rx, &tx, false);
	char buf[64];
	short rev;
	int skipped;
	send_and_wait(tx, rx, "abc");
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 3); /* short: asked 64 */
	/* bytes that arrive between the read and libcurl's poll wait for the loop's next turn */
	send_and_wait(tx, rx, "d");
	assert_int_equal(poll1(rx, POLLIN, &rev, &skipped), 0);
	assert_true(skipped);
	assert_int_equal(rev, 0);
	/* one answer per short read: the next poll is the kernel's, and sees them */
	assert_int_equal(poll1(rx, POLLIN, &rev, &skipped), 1);
	assert_false(skipped);
	assert_true(rev & POLLIN);
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 1);
	close(rx);
	close(tx);
}

static void test_other_polls_go_to_the_kernel(void **state)
{
	(void)state;
	int rx, tx;
	tcp_pair(&rx, &tx, false);
	char buf[64];
	short rev;
	int skipped;
	/* a full read (asked 2, got 2) may have left more: the kernel answers */
	send_and_wait(tx, rx, "abcd");
	assert_int_equal(recv(rx, buf, 2, 0), 2);
	assert_int_equal(poll1(rx, POLLIN, &rev, &skipped), 1);
	assert_false(skipped);
	/* asking about writing as well: the kernel answers */
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 2);
	assert_int_equal(poll1(rx, POLLIN | POLLOUT, &rev, &skipped), 1);
	assert_false(skipped);
	assert_true(rev & POLLOUT);
	/* another socket than the one just read */
	send_and_wait(tx, rx, "e");
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 1);
	assert_int_equal(poll1(tx, POLLIN, &rev, &skipped), 0);
	assert_false(skipped);
	/* a poll with a timeout, or over several sockets */
	send_and_wait(tx, rx, "f");
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 1);
	struct pollfd p = {.fd = rx, .events = POLLIN};
	unsigned long long before = client_pollskip_count();
	assert_int_equal(poll(&p, 1, 1), 0);
	assert_int_equal(client_pollskip_count(), before);
	assert_int_equal(recv(rx, buf, sizeof buf, MSG_DONTWAIT), -1); /* EAGAIN: not a short read */
	struct pollfd two[2] = {{.fd = rx, .events = POLLIN}, {.fd = tx, .events = POLLOUT}};
	assert_int_equal(poll(two, 2, 0), 1);
	assert_true(two[1].revents & POLLOUT);
	/* MSG_PEEK leaves the bytes: not a short read either */
	send_and_wait(tx, rx, "g");
	assert_int_equal(recv(rx, buf, sizeof buf, MSG_PEEK), 1);
	assert_int_equal(poll1(rx, POLLIN, &rev, &skipped), 1);
	assert_false(skipped);
	/* end of stream (a read of 0 is short): skipped once, then the kernel reports the hang-up */
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 1);
	close(tx);
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 0);
	assert_int_equal(poll1(rx, POLLIN, &rev, &skipped), 0);
	assert_true(skipped);
	assert_int_equal(poll1(rx, POLLIN, &rev, &skipped), 1);
	assert_false(skipped);
	assert_true(rev & POLLIN);
	close(rx);
}

static void test_whole_send_then_poll_is_skipped_once(void **state)
{
	(void)state;
	int rx, tx;
	tcp_pair(&rx, &tx, false);
	char buf[64];
	short rev;
	int skipped;
	/* a request sent whole; its answer arrives before libcurl's poll: the loop's next turn reads it */
	assert_int_equal(send(tx, "ping", 4, MSG_NOSIGNAL), 4);
	send_and_wait(rx, tx, "pong");
	assert_int_equal(poll1(tx, POLLIN, &rev, &skipped), 0);
	assert_true(skipped);
	assert_int_equal(rev, 0);
	assert_int_equal(poll1(tx, POLLIN, &rev, &skipped), 1); /* once only */
	assert_false(skipped);
	assert_true(rev & POLLIN);
	assert_int_equal(recv(tx, buf, sizeof buf, 0), 4);
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 4);
	/* only that socket's read-only poll: writing, or another socket, is the kernel's (and ends it) */
	assert_int_equal(send(tx, "a", 1, MSG_NOSIGNAL), 1);
	assert_int_equal(poll1(tx, POLLIN | POLLOUT, &rev, &skipped), 1);
	assert_false(skipped);
	assert_int_equal(send(tx, "b", 1, MSG_NOSIGNAL), 1);
	assert_int_equal(poll1(rx, POLLIN, &rev, &skipped), 1);
	assert_false(skipped);
	assert_int_equal(poll1(tx, POLLIN, &rev, &skipped), 0); /* (the note is gone) */
	assert_false(skipped);
	/* an empty send, or a failed one, notes nothing; errno is the send's */
	assert_int_equal(send(tx, "", 0, MSG_NOSIGNAL), 0);
	assert_int_equal(poll1(tx, POLLIN, &rev, &skipped), 0);
	assert_false(skipped);
	shutdown(tx, SHUT_WR);
	errno = 0;
	assert_int_equal(send(tx, "c", 1, MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(poll1(tx, POLLIN, &rev, &skipped), 0);
	assert_false(skipped);
	close(rx);
	close(tx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_short_read_then_poll_is_skipped_once),
	    cmocka_unit_test(test_other_polls_go_to_the_kernel),
	    cmocka_unit_test(test_whole_send_then_poll_is_skipped_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
