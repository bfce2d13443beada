/* client/client_rxstamp: recv() returns what libc's would, and remembers the kernel's receive
 * timestamp of the bytes, which is when they arrived, not when they were read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/client_rxstamp.h"
#include "tcp_pair.h"
#include "core/clock.h"

#define MS 1000000LL

/* Let time pass between the arrival and the read, as a busy event loop would. */
static void pause_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ns};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* The kernel turns timestamping on a moment after the first socket asks (deferred work), as the
 * client does when it is created: hold it on, and wait (bounded) until packets carry stamps. */
static int hold_and_wait(int rx, int tx)
{
	int hold = client_rxstamp_hold();
	assert_true(hold >= 0);
	char b;
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(write(tx, "w", 1), 1);
		assert_int_equal(recv(rx, &b, 1, 0), 1);
		if (client_rxstamp_last(rx, clock_mono_ns()) > 0)
			return hold;
		pause_ns(1 * MS);
	}
	fail_msg("no receive timestamps after 2 s");
	return hold;
}

static void test_stamp_is_arrival_time(void **state)
{
	(void)state;
	int rx, tx;
	tcp_pair(&rx, &tx, true);
	int hold = hold_and_wait(rx, tx);
	int64_t sent = clock_mono_ns();
	assert_int_equal(write(tx, "hello", 5), 5);
	pause_ns(20 * MS);
	char buf[64];
	int64_t before_read = clock_mono_ns();
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 5);
	assert_memory_equal(buf, "hello", 5);
	int64_t now = clock_mono_ns();
	int64_t t = client_rxstamp_last(rx, now);
	assert_true(t > 0);
	/* arrived after the write, well before the read 20 ms later */
	assert_true(t >= sent - 1 * MS / 10); /* (two clocks: allow 0.1 ms of conversion error) */
	assert_true(t < before_read - 10 * MS);
	assert_true(t <= now);
	/* another socket's bytes are not stamped by this read */
	assert_int_equal(client_rxstamp_last(tx, now), 0);
	/* several packets in one read: the stamp is the last one's */
	assert_int_equal(write(tx, "ab", 2), 2);
	pause_ns(10 * MS);
	int64_t second = clock_mono_ns();
	assert_int_equal(write(tx, "cd", 2), 2);
	pause_ns(10 * MS);
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 4);
	assert_memory_equal(buf, "abcd", 4);
	now = clock_mono_ns();
	t = client_rxstamp_last(rx, now);
	assert_true(t >= second - 1 * MS / 10);
	assert_true(t < now - 5 * MS);
	close(rx);
	close(tx);
	client_rxstamp_release(hold);
}

static void test_recv_semantics_unchanged(void **state)
{
	(void)state;
	int rx, tx;
	tcp_pair(&rx, &tx, false);
	char buf[16];
	/* nothing to read: EAGAIN with MSG_DONTWAIT, like libc's recv */
	errno = 0;
	assert_int_equal(recv(rx, buf, sizeof buf, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	assert_int_equal(write(tx, "xyz", 3), 3);
	/* MSG_PEEK leaves the data, then a normal read takes it; no timestamp without SO_TIMESTAMPNS */
	assert_int_equal(recv(rx, buf, sizeof buf, MSG_PEEK), 3);
	assert_int_equal(recv(rx, buf, 2, 0), 2);
	assert_memory_equal(buf, "xy", 2);
	assert_int_equal(client_rxstamp_last(rx, clock_mono_ns()), 0);
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 1);
	assert_int_equal(buf[0], 'z');
	/* end of stream: 0 */
	close(tx);
	assert_int_equal(recv(rx, buf, sizeof buf, 0), 0);
	close(rx);
	/* a bad descriptor: -1 with libc's errno */
	errno = 0;
	assert_int_equal(recv(-1, buf, sizeof buf, 0), -1);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stamp_is_arrival_time),
	    cmocka_unit_test(test_recv_semantics_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
