/* SIGINT/SIGTERM/SIGHUP handling shared by every phase of a run: a flag plus a self-pipe that the event
 * loop watches. A second signal while stopping escalates (in-flight requests are cancelled). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "runner/run.h"
#include "server/server.h"

volatile sig_atomic_t runner_interrupted;
/* read by every client thread (runner_signal_pending), written by the handler: a lock-free atomic,
 * which is also safe in a signal handler */
static atomic_int runner_first_signal;
static int runner_pipe[2] = {-1, -1};

static void runner_on_signal(int signo)
{
	int saved = errno;
	int none = 0;
	atomic_compare_exchange_strong(&runner_first_signal, &none, signo);
	/* atomic: client threads read it (wl_interrupted, through the workload's flag pointer) */
	__atomic_fetch_add(&runner_interrupted, 1, __ATOMIC_RELAXED);
	if (runner_pipe[1] >= 0) {
		char c = (char)signo;
		ssize_t w = write(runner_pipe[1], &c, 1);
		(void)w;
	}
	errno = saved;
}

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
/* Fatal signals: kill every server process group we started, then die with the same signal. */
static void runner_on_fatal(int signo)
{
	server_kill_all_emergency();
	signal(signo, SIG_DFL);
	raise(signo);
}
#endif

void runner_signals_install(void)
{
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	/* (sanitizer builds keep their own reports for these signals) */
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
		struct sigaction fa;
		memset(&fa, 0, sizeof fa);
		fa.sa_handler = runner_on_fatal;
		sigemptyset(&fa.sa_mask);
		fa.sa_flags = (int)SA_RESETHAND;
		sigaction(fatal[i], &fa, NULL);
	}
#endif
	if (runner_pipe[0] < 0) {
		if (pipe2(runner_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
			runner_pipe[0] = runner_pipe[1] = -1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = runner_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a closed terminal or a dropped ssh session: the run stops like for SIGTERM and writes its
	 * outputs, instead of dying with the data measured so far unsummarized (docs/FAILURES.md);
	 * unless SIGHUP is ignored (nohup): then the run goes on, as asked */
	struct sigaction hup;
	if (sigaction(SIGHUP, NULL, &hup) == 0 && hup.sa_handler != SIG_IGN)
		sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int runner_signal_pending(void)
{
	return atomic_load(&runner_first_signal);
}
int runner_signal_fd(void)
{
	return runner_pipe[0];
}
