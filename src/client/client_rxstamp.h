#ifndef VK_CLIENT_CLIENT_RXSTAMP_H
#define VK_CLIENT_CLIENT_RXSTAMP_H
/* Kernel receive timestamps for the client's sockets.
 *
 * A chunk's timestamp should be the moment its bytes reached this host, not the moment a busy
 * event loop got round to reading them. The kernel records the former for every received packet
 * once a socket asks for it (SO_TIMESTAMPNS), but hands it over only as a control message of
 * recvmsg(), and libcurl reads with recv(). So this module defines recv() itself: the program's
 * definition takes precedence over libc's for every library (libcurl calls recv@GLIBC_2.2.5 and
 * the dynamic linker binds it to the executable's symbol). Our recv() is recvmsg() with room for
 * that control message; it returns exactly what recv() would, and remembers, per thread, the
 * timestamp that came with the last bytes read and their socket. For a read that drains several
 * packets, TCP reports the timestamp of the last one: every event in that read arrived no later.
 *
 * Sockets without SO_TIMESTAMPNS (the sim server's, a health check's) get no control message and
 * are unaffected. VEEKSHA_RX_STAMPS=0 in the environment turns the feature off (user-space
 * stamps at read time, as before; for comparisons). docs/CLIENT.md, Timestamps. */
#include <stdbool.h>
#include <stdint.h>

/* Ask the kernel to timestamp what arrives on fd (a client socket, before connect). */
void client_rxstamp_enable(int fd);
/* The kernel switches receive timestamping on for the whole system a moment after the first
 * socket asks (deferred work), and off when the last one closes: packets in between carry no
 * timestamp. A client holds a socket that asks for the whole run (from client_create, before any
 * traffic). Returns the socket to close with client_rxstamp_release(), or -1. */
int client_rxstamp_hold(void);
void client_rxstamp_release(int fd);
/* CLOCK_MONOTONIC arrival time of the bytes this thread last read from fd with recv(), or 0 when
 * the last read was from another socket or carried no timestamp. Never later than now_ns. */
int64_t client_rxstamp_last(int fd, int64_t now_ns);
/* Whether kernel stamps are in use (false with VEEKSHA_RX_STAMPS=0). */
bool client_rxstamp_on(void);

#endif
