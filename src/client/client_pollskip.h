#ifndef VK_CLIENT_CLIENT_POLLSKIP_H
#define VK_CLIENT_CLIENT_POLLSKIP_H
/* Skip libcurl's "more data?" poll after a short read, and its "answer yet?" poll after a send.
 *
 * libcurl 7.88 follows every read from a plain TCP socket with poll(fd, 1, 0) to see whether more
 * bytes are waiting (its socket filter's data_pending check), and reads again if so. When the
 * read just returned fewer bytes than asked for, the kernel had nothing more at that moment, so
 * the answer is almost always "no", and the syscall costs ~1.5 µs on a paravirtualised vCPU
 * (13% of the client's CPU per streamed chunk, bench/RESULTS.md). This module defines poll() for
 * the program (like client_rxstamp's recv(), the executable's symbol is what libcurl binds to)
 * and answers exactly that question itself: the first single-socket, zero-timeout, read-only poll
 * on a socket whose last recv() on this thread was short says "not readable". Every other poll()
 * goes to the kernel. The same holds for the poll libcurl makes right after sending a whole
 * request (its transfer loop asks whether the answer is readable yet, ~2-3 µs on every dispatch
 * here, bench/RESULTS.md): this module also defines send(), and a send that took all its bytes
 * makes the first such poll of that socket answer "not readable".
 *
 * The answer can only be stale by bytes that arrived after the short read; the event loop's
 * level-triggered epoll reports them at once, so nothing is lost or delayed beyond one loop turn.
 * A connection that the peer closed in that instant is found dead on the next read (curl retries
 * a request on a reused connection that died before any response). VEEKSHA_POLL_SKIP=0 in the
 * environment turns the shortcut off (for comparisons). docs/CLIENT.md, Reads. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Called by the interposed recv() after every read: remembers a short read (0 <= got < asked,
 * not MSG_PEEK) on fd for this thread, forgets it otherwise. */
void client_pollskip_note_read(int fd, ssize_t got, size_t asked, int flags);
/* Called by the interposed send() after every send: remembers a send that took all of its len > 0
 * bytes on fd for this thread, forgets any earlier note otherwise. */
void client_pollskip_note_send(int fd, ssize_t sent, size_t len);
/* Whether the shortcut is in use (false with VEEKSHA_POLL_SKIP=0). */
bool client_pollskip_on(void);
/* Polls answered without a syscall on this thread (for tests and client_usage.json). */
unsigned long long client_pollskip_count(void);

#endif
