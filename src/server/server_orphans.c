/* The supervisor's last duty: processes of the engine that left its process group (setsid, a
 * daemonized helper) are reparented to the supervisor, a child subreaper, once their parent dies;
 * they are killed and reaped before the supervisor exits, so nothing the engine started outlives
 * the server (docs/SERVERS.md, Process structure). Runs in the forked supervisor of a possibly
 * multi-threaded process: async-signal-safe calls only (no malloc, no stdio). */
#include "server/server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ORPHANS_MAX_ROUNDS 200 /* x 10 ms: a bounded 2 s */

struct orphans_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static long orphans_parse_long(const char *s, const char **end)
{
	long v = 0;
	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9') {
		*end = NULL;
		return -1;
	}
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	*end = s;
	return v;
}

/* The parent and process group of pid from /proc/<pid>/stat ("pid (comm) S ppid pgrp ..."; comm may
 * hold spaces and parentheses: the fields follow the last ')'). 0, or -1 when it is gone. */
static int orphans_stat(long pid, long *ppid, long *pgrp)
{
	char path[40] = "/proc/";
	char digits[24];
	int n = 0;
	for (long v = pid; v > 0 && n < 23; v /= 10)
		digits[n++] = (char)('0' + v % 10);
	int p = 6;
	while (n > 0)
		path[p++] = digits[--n];
	const char *tail = "/stat";
	while (*tail)
		path[p++] = *tail++;
	path[p] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[1024];
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	const char *close_paren = NULL;
	for (ssize_t i = 0; i < r; i++)
		if (buf[i] == ')')
			close_paren = buf + i;
	if (!close_paren || close_paren[1] != ' ' || !close_paren[2] || close_paren[3] != ' ')
		return -1;
	const char *end;
	*ppid = orphans_parse_long(close_paren + 4, &end);
	if (!end)
		return -1;
	*pgrp = orphans_parse_long(end, &end);
	return end ? 0 : -1;
}

/* SIGKILLs every child of the supervisor (me); a child that leads its own process group takes the
 * group with it. Returns how many children were found. */
static int orphans_kill_children(pid_t me)
{
	int dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	int found = 0;
	char buf[4096] __attribute__((aligned(8)));
	long n;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			const struct orphans_dirent *d = (const struct orphans_dirent *)(void *)(buf + off);
			off += d->reclen;
			const char *end;
			long pid = orphans_parse_long(d->name, &end);
			long ppid, pgrp;
			if (!end || *end || pid <= 0 || orphans_stat(pid, &ppid, &pgrp) != 0 || ppid != me)
				continue;
			found++;
			if (pgrp == pid) /* never a group it merely joined (it could be veeksha's own) */
				kill((pid_t)-pid, SIGKILL);
			kill((pid_t)pid, SIGKILL);
		}
	}
	close(dfd);
	return found;
}

void server_sup_kill_orphans(pid_t me)
{
	for (int round = 0; round < ORPHANS_MAX_ROUNDS; round++) {
		int st;
		while (waitpid(-1, &st, WNOHANG) > 0)
			;
		if (orphans_kill_children(me) == 0 && waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD)
			return;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}
