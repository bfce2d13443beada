#include "workload/request.h"

#include <stdlib.h>

#include "core/xalloc.h"

static volatile sig_atomic_t *wl_interrupt_flag;

void wl_set_interrupt_flag(volatile sig_atomic_t *flag)
{
	wl_interrupt_flag = flag;
}

bool wl_interrupted(void)
{
	/* an atomic read: the flag is a signal handler's, read here from client threads too */
	return wl_interrupt_flag && __atomic_load_n(wl_interrupt_flag, __ATOMIC_RELAXED);
}

void wl_message_list_free(struct wl_message *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].role);
		free(msgs[i].content);
	}
	free(msgs);
}

struct wl_message *wl_message_list_copy(const struct wl_message *msgs, size_t n)
{
	if (n == 0)
		return NULL;
	struct wl_message *out = xcalloc(n, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		out[i].role = xstrdup(msgs[i].role);
		out[i].content = xstrdup(msgs[i].content);
	}
	return out;
}

void wl_session_free(struct wl_session *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_nodes; i++) {
		struct wl_request *r = &s->requests[i];
		free(r->prompt_text);
		free(r->sampling_json);
		free(r->parent_nodes);
		wl_message_list_free(r->history, r->n_history);
	}
	free(s->requests);
	free(s->edges);
	free(s);
}
