/* Descriptor tables for every configuration class (docs/CONFIG.md, Key reference), their defaults,
 * validation and generic free/copy. Field order = the reference's declaration order (docs/CONFIG.md,
 * config.yml). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "core/xalloc.h"

#define OFF(T, f) offsetof(T, f)
#define G(arr)                                                                                                         \
	{                                                                                                              \
		(arr), sizeof(arr) / sizeof((arr)[0])                                                                  \
	}
#define G0                                                                                                             \
	{                                                                                                              \
		NULL, 0                                                                                                \
	}
#define G00 G0, G0

#define VFAIL(k, ...)                                                                                                  \
	do {                                                                                                           \
		*key = (k);                                                                                            \
		snprintf(ve->msg, sizeof ve->msg, __VA_ARGS__);                                                        \
		return ve->msg;                                                                                        \
	} while (0)

/* ================= interval generators ================= */
static const struct cfg_field ig_poisson[] = {
    {"arrival_rate", FK_FLOAT, OFF(struct cfg_interval_gen, arrival_rate), 0, 0, NULL, NULL, 0,
     "Mean arrival rate (events per second)."},
};
static const struct cfg_field ig_gamma[] = {
    {"arrival_rate", FK_FLOAT, OFF(struct cfg_interval_gen, arrival_rate), 0, 0, NULL, NULL, 0,
     "Mean arrival rate (events per second)."},
    {"cv", FK_FLOAT, OFF(struct cfg_interval_gen, cv), 0, 0, NULL, NULL, 0,
     "Coefficient of variation of the inter-arrival times."},
};
static const struct cfg_field ig_fixed[] = {
    {"interval", FK_FLOAT, OFF(struct cfg_interval_gen, interval), 0, 0, NULL, NULL, 0,
     "Fixed interval between events (seconds)."},
};
static const struct cfg_variant ig_variants[] = {
    {"poisson", {G(ig_poisson), G0, G0, G0}},
    {"gamma", {G(ig_gamma), G0, G0, G0}},
    {"fixed", {G(ig_fixed), G0, G0, G0}},
};

static void ig_defaults(void *p, int type)
{
	struct cfg_interval_gen *g = p;
	memset(g, 0, sizeof *g);
	g->type = (enum cfg_interval_type)type;
	g->arrival_rate = 1.0;
	g->cv = 0.5;
	g->interval = 1.0;
}

static const char *ig_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	const struct cfg_interval_gen *g = p;
	if ((type == CFG_INTERVAL_POISSON || type == CFG_INTERVAL_GAMMA) && !(g->arrival_rate > 0))
		VFAIL("arrival_rate", "must be > 0 (got %g)", g->arrival_rate);
	if (type == CFG_INTERVAL_GAMMA && !(g->cv > 0))
		VFAIL("cv", "must be > 0 (got %g)", g->cv);
	if (type == CFG_INTERVAL_FIXED && !(g->interval >= 0))
		VFAIL("interval", "must be >= 0 (got %g)", g->interval);
	return NULL;
}

static const struct cfg_class cls_interval = {
    .name = "IntervalGeneratorConfig",
    .size = sizeof(struct cfg_interval_gen),
    .poly = true,
    .type_off = OFF(struct cfg_interval_gen, type),
    .variants = ig_variants,
    .n_variants = 3,
    .defaults = ig_defaults,
    .validate = ig_validate,
    .help = "Inter-arrival time generator.",
};

/* ================= length generators ================= */
#define LG struct cfg_length_gen
static const struct cfg_field lg_fixed[] = {
    {"value", FK_INT, OFF(LG, value), 0, 0, NULL, NULL, 0, "Fixed length (tokens or count)."},
};
static const struct cfg_field lg_stair[] = {
    {"values", FK_INT_LIST, OFF(LG, values), OFF(LG, n_values), 0, NULL, NULL, 0, "Values of the stairs, in order."},
    {"repeat_each", FK_INT, OFF(LG, repeat_each), 0, 0, NULL, NULL, 0, "Times each value is repeated."},
    {"wrap", FK_BOOL, OFF(LG, wrap), 0, 0, NULL, NULL, 0, "Start over after the last value (otherwise keep the last)."},
};
static const struct cfg_field lg_uniform[] = {
    {"min", FK_INT, OFF(LG, min), 0, 0, NULL, NULL, 0, "Minimum value."},
    {"max", FK_INT, OFF(LG, max), 0, 0, NULL, NULL, 0, "Maximum value."},
};
static const struct cfg_field lg_zipf[] = {
    {"theta", FK_FLOAT, OFF(LG, theta), 0, 0, NULL, NULL, 0, "Zipf skew parameter."},
    {"scramble", FK_BOOL, OFF(LG, scramble), 0, 0, NULL, NULL, 0, "Scramble the ranks."},
    {"min", FK_INT, OFF(LG, min), 0, 0, NULL, NULL, 0, "Minimum value."},
    {"max", FK_INT, OFF(LG, max), 0, 0, NULL, NULL, 0, "Maximum value."},
};
static const struct cfg_field lg_invgauss[] = {
    {"mean", FK_FLOAT, OFF(LG, mean), 0, 0, NULL, NULL, 0, "Mean of the distribution."},
    {"shape", FK_FLOAT, OFF(LG, shape), 0, 0, NULL, NULL, 0, "Shape (lambda) of the distribution."},
};
static const struct cfg_variant lg_variants[] = {
    {"fixed", {G(lg_fixed), G0, G0, G0}},
    {"fixed_stair", {G(lg_stair), G0, G0, G0}},
    {"uniform", {G(lg_uniform), G0, G0, G0}},
    {"zipf", {G(lg_zipf), G0, G0, G0}},
    {"inverse_gaussian", {G(lg_invgauss), G0, G0, G0}},
};

static void lg_defaults(void *p, int type)
{
	LG *g = p;
	memset(g, 0, sizeof *g);
	g->type = (enum cfg_length_type)type;
	g->value = 8;
	g->n_values = 4;
	g->values = xmalloc(4 * sizeof *g->values);
	g->values[0] = 8;
	g->values[1] = 16;
	g->values[2] = 32;
	g->values[3] = 64;
	g->repeat_each = 1;
	g->wrap = true;
	g->min = 6;
	g->max = 12;
	g->theta = 0.6;
	g->scramble = false;
	g->mean = 500.0;
	g->shape = 300.0;
}

static const char *lg_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	const LG *g = p;
	switch (type) {
	case CFG_LENGTH_FIXED:
		if (g->value < 0)
			VFAIL("value", "must be >= 0 (got %lld)", (long long)g->value);
		break;
	case CFG_LENGTH_FIXED_STAIR:
		if (g->n_values == 0)
			VFAIL("values", "must not be empty");
		for (size_t i = 0; i < g->n_values; i++)
			if (g->values[i] <= 0)
				VFAIL("values", "all values must be > 0 (got %lld)", (long long)g->values[i]);
		if (g->repeat_each <= 0)
			VFAIL("repeat_each", "must be > 0 (got %lld)", (long long)g->repeat_each);
		break;
	case CFG_LENGTH_UNIFORM:
	case CFG_LENGTH_ZIPF:
		if (g->min <= 0)
			VFAIL("min", "must be > 0 (got %lld)", (long long)g->min);
		if (g->max <= 0)
			VFAIL("max", "must be > 0 (got %lld)", (long long)g->max);
		if (g->min > g->max)
			VFAIL("min", "min (%lld) must be <= max (%lld)", (long long)g->min, (long long)g->max);
		if (type == CFG_LENGTH_ZIPF && !(g->theta > 0))
			VFAIL("theta", "must be > 0 (got %g)", g->theta);
		break;
	case CFG_LENGTH_INVERSE_GAUSSIAN:
		if (!(g->mean > 0))
			VFAIL("mean", "must be > 0 (got %g)", g->mean);
		if (!(g->shape > 0))
			VFAIL("shape", "must be > 0 (got %g)", g->shape);
		break;
	default:
		break;
	}
	return NULL;
}

static const struct cfg_class cls_length = {
    .name = "LengthGeneratorConfig",
    .size = sizeof(LG),
    .poly = true,
    .type_off = OFF(LG, type),
    .variants = lg_variants,
    .n_variants = 5,
    .defaults = lg_defaults,
    .validate = lg_validate,
    .help = "Length generator (tokens or counts).",
};

/* ================= channels ================= */
#define CH struct cfg_channel
static const struct cfg_field ch_text[] = {
    {"body_length_generator", FK_POLY, OFF(CH, body_length_generator), 0, 0, &cls_length, NULL, 0,
     "Prompt body length in tokens."},
    {"shared_prefix_ratio", FK_FLOAT, OFF(CH, shared_prefix_ratio), 0, 0, NULL, NULL, 0,
     "Fraction of the prompt that is a shared prefix."},
    {"shared_prefix_probability", FK_FLOAT, OFF(CH, shared_prefix_probability), 0, 0, NULL, NULL, 0,
     "Probability that a prompt uses the shared prefix."},
};
static const struct cfg_variant ch_variants[] = {
    {"text", {G(ch_text), G0, G0, G0}},
    {"image", {G0, G0, G0, G0}},
    {"audio", {G0, G0, G0, G0}},
    {"video", {G0, G0, G0, G0}},
};

static void ch_defaults(void *p, int type)
{
	CH *c = p;
	memset(c, 0, sizeof *c);
	c->type = (enum cfg_channel_type)type;
	lg_defaults(&c->body_length_generator, CFG_LENGTH_UNIFORM);
	c->shared_prefix_ratio = 0.0;
	c->shared_prefix_probability = 1.0;
}

static const char *ch_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	const CH *c = p;
	if (type != CFG_CHANNEL_TEXT)
		VFAIL("type", "channel type '%s' is not supported (only 'text')", ch_variants[type].name);
	if (!(c->shared_prefix_ratio >= 0 && c->shared_prefix_ratio <= 1))
		VFAIL("shared_prefix_ratio", "must be in [0, 1] (got %g)", c->shared_prefix_ratio);
	if (!(c->shared_prefix_probability >= 0 && c->shared_prefix_probability <= 1))
		VFAIL("shared_prefix_probability", "must be in [0, 1] (got %g)", c->shared_prefix_probability);
	return NULL;
}

static const struct cfg_class cls_channel = {
    .name = "ChannelGeneratorConfig",
    .size = sizeof(CH),
    .poly = true,
    .type_off = OFF(CH, type),
    .variants = ch_variants,
    .n_variants = 4,
    .defaults = ch_defaults,
    .validate = ch_validate,
    .help = "A request channel (modality); only text is supported.",
};

/* ================= output spec ================= */
#define OS struct cfg_output_spec
static const struct cfg_field os_text_fields[] = {
    {"output_length_generator", FK_POLY, OFF(OS, text_output_length), 0, 0, &cls_length, NULL, 0,
     "Requested output length in tokens."},
};
static void os_text_defaults(void *p, int type)
{
	(void)type;
	OS *o = p;
	cfg_obj_reset(&cls_length, &o->text_output_length, CFG_LENGTH_UNIFORM);
}
static const struct cfg_class cls_os_text = {
    .name = "TextOutputSpecConfig",
    .fields = G(os_text_fields),
    .defaults = os_text_defaults,
    .help = "Requested text output.",
};
static const struct cfg_field os_image_fields[] = {
    {"num_images", FK_INT, OFF(OS, image_num_images), 0, 0, NULL, NULL, 0, "Number of images."},
    {"size", FK_STR, OFF(OS, image_size), 0, 0, NULL, NULL, FF_NULLABLE, "Image size."},
    {"quality", FK_STR, OFF(OS, image_quality), 0, 0, NULL, NULL, FF_NULLABLE, "Image quality."},
};
static void os_image_defaults(void *p, int type)
{
	(void)type;
	OS *o = p;
	o->image_num_images = 1;
	free(o->image_size);
	free(o->image_quality);
	o->image_size = o->image_quality = NULL;
}
static const struct cfg_class cls_os_image = {
    .name = "ImageOutputSpecConfig",
    .fields = G(os_image_fields),
    .defaults = os_image_defaults,
    .help = "Requested image output (accepted, unused).",
};
static const struct cfg_field os_fields[] = {
    {"text", FK_NESTED, 0, OFF(OS, has_text), 0, &cls_os_text, NULL, FF_OPTIONAL, "Requested text output."},
    {"image", FK_NESTED, 0, OFF(OS, has_image), 0, &cls_os_image, NULL, FF_OPTIONAL,
     "Requested image output (accepted, unused)."},
    {"audio", FK_NULL, 0, 0, 0, NULL, NULL, 0, "Not supported: must be null."},
    {"video", FK_NULL, 0, 0, 0, NULL, NULL, 0, "Not supported: must be null."},
};
static void os_defaults(void *p, int type)
{
	(void)type;
	OS *o = p;
	memset(o, 0, sizeof *o);
	o->has_text = true;
	lg_defaults(&o->text_output_length, CFG_LENGTH_UNIFORM);
	o->has_image = false;
	o->image_num_images = 1;
}
static const struct cfg_class cls_output_spec = {
    .name = "OutputSpecConfig",
    .size = sizeof(OS),
    .fields = G(os_fields),
    .defaults = os_defaults,
    .help = "What each request asks the server to produce.",
};

/* ================= session graphs ================= */
#define SGR struct cfg_session_graph
static const struct cfg_field sg_linear[] = {
    {"inherit_history", FK_BOOL, OFF(SGR, inherit_history), 0, 0, NULL, NULL, 0,
     "Each request carries the history of the previous ones."},
    {"num_request_generator", FK_POLY, OFF(SGR, num_request_generator), 0, 0, &cls_length, NULL, 0,
     "Number of requests per session."},
    {"request_wait_generator", FK_POLY, OFF(SGR, request_wait_generator), 0, 0, &cls_interval, NULL, 0,
     "Think time between requests of a session."},
};
static const struct cfg_field sg_branching[] = {
    {"num_layers_generator", FK_POLY, OFF(SGR, num_layers_generator), 0, 0, &cls_length, NULL, 0,
     "Number of layers of the session DAG."},
    {"layer_width_generator", FK_POLY, OFF(SGR, layer_width_generator), 0, 0, &cls_length, NULL, 0,
     "Width of each layer."},
    {"fan_out_generator", FK_POLY, OFF(SGR, fan_out_generator), 0, 0, &cls_length, NULL, 0, "Fan-out of each node."},
    {"fan_in_generator", FK_POLY, OFF(SGR, fan_in_generator), 0, 0, &cls_length, NULL, 0, "Fan-in of each node."},
    {"connection_dist_generator", FK_POLY, OFF(SGR, connection_dist_generator), 0, 0, &cls_length, NULL, 0,
     "Layer distance of the connections."},
    {"request_wait_generator", FK_POLY, OFF(SGR, request_wait_generator), 0, 0, &cls_interval, NULL, 0,
     "Think time between dependent requests."},
    {"inherit_history", FK_BOOL, OFF(SGR, inherit_history), 0, 0, NULL, NULL, 0,
     "Requests carry the history of their parent."},
    {"single_root", FK_BOOL, OFF(SGR, single_root), 0, 0, NULL, NULL, 0, "The DAG has a single root."},
};
static const struct cfg_variant sg_variants[] = {
    {"linear", {G(sg_linear), G0, G0, G0}},
    {"single_request", {G0, G0, G0, G0}},
    {"branching", {G(sg_branching), G0, G0, G0}},
};
static void sg_defaults(void *p, int type)
{
	SGR *g = p;
	memset(g, 0, sizeof *g);
	g->type = (enum cfg_graph_type)type;
	g->inherit_history = true;
	lg_defaults(&g->num_request_generator, CFG_LENGTH_UNIFORM);
	ig_defaults(&g->request_wait_generator, CFG_INTERVAL_POISSON);
	lg_defaults(&g->num_layers_generator, CFG_LENGTH_UNIFORM);
	g->num_layers_generator.min = 2;
	g->num_layers_generator.max = 5;
	lg_defaults(&g->layer_width_generator, CFG_LENGTH_UNIFORM);
	g->layer_width_generator.min = 1;
	g->layer_width_generator.max = 3;
	lg_defaults(&g->fan_out_generator, CFG_LENGTH_UNIFORM);
	g->fan_out_generator.min = 1;
	g->fan_out_generator.max = 2;
	lg_defaults(&g->fan_in_generator, CFG_LENGTH_UNIFORM);
	g->fan_in_generator.min = 1;
	g->fan_in_generator.max = 2;
	lg_defaults(&g->connection_dist_generator, CFG_LENGTH_FIXED);
	g->connection_dist_generator.value = 1;
	g->single_root = true;
}
static const struct cfg_class cls_session_graph = {
    .name = "SessionGraphConfig",
    .size = sizeof(SGR),
    .poly = true,
    .type_off = OFF(SGR, type),
    .variants = sg_variants,
    .n_variants = 3,
    .defaults = sg_defaults,
    .help = "Shape of a session (requests and their dependencies).",
};

/* ================= trace flavors ================= */
#define TF struct cfg_trace_flavor
static const struct cfg_field tf_timed[] = {
    {"corpus_file", FK_STR, OFF(TF, corpus_file), 0, 0, NULL, NULL, 0, "Text corpus used to build prompts."},
    {"page_size", FK_INT, OFF(TF, page_size), 0, 0, NULL, NULL, 0, "Page size (tokens) of the hashes."},
};
static const struct cfg_field tf_shared[] = {
    {"corpus_file", FK_STR, OFF(TF, corpus_file), 0, 0, NULL, NULL, 0, "Text corpus used to build prompts."},
    {"block_size", FK_INT, OFF(TF, block_size), 0, 0, NULL, NULL, 0, "Block size (tokens) of the hashes."},
};
static const struct cfg_field tf_rag[] = {
    {"num_documents", FK_INT, OFF(TF, num_documents), 0, 0, NULL, NULL, 0, "Documents per request."},
};
static const struct cfg_field tf_untimed[] = {
    {"conversation_column", FK_STR, OFF(TF, conversation_column), 0, 0, NULL, NULL, 0,
     "Column holding the conversation."},
    {"role_key", FK_STR, OFF(TF, role_key), 0, 0, NULL, NULL, 0, "Key of the role in a message."},
    {"content_key", FK_STR, OFF(TF, content_key), 0, 0, NULL, NULL, 0, "Key of the content in a message."},
    {"user_role_value", FK_STR, OFF(TF, user_role_value), 0, 0, NULL, NULL, 0, "Role value of the user."},
    {"assistant_role_value", FK_STR, OFF(TF, assistant_role_value), 0, 0, NULL, NULL, 0,
     "Role value of the assistant."},
};
static const struct cfg_field tf_mooncake[] = {
    {"block_size", FK_INT, OFF(TF, block_size), 0, 0, NULL, NULL, FF_OURS, "Tokens per hash id block."},
    {"replay_timestamps", FK_BOOL, OFF(TF, replay_timestamps), 0, 0, NULL, NULL, FF_OURS,
     "Replay the trace's timestamps (otherwise the traffic scheduler's intervals)."},
    {"time_scale", FK_FLOAT, OFF(TF, time_scale), 0, 0, NULL, NULL, FF_OURS,
     "Multiply the trace's timestamps by this factor."},
};
static const struct cfg_variant tf_variants[] = {
    {"timed_synthetic_multi_turn", {G(tf_timed), G0, G0, G0}},
    {"shared_prefix", {G(tf_shared), G0, G0, G0}},
    {"rag", {G(tf_rag), G0, G0, G0}},
    {"request_log", {G0, G0, G0, G0}},
    {"untimed_content_multi_turn", {G(tf_untimed), G0, G0, G0}},
    {"sharegpt", {G(tf_untimed), G0, G0, G0}},
    {"mooncake", {G(tf_mooncake), G0, G0, G0}},
};
static void tf_defaults(void *p, int type)
{
	TF *f = p;
	memset(f, 0, sizeof *f);
	f->type = (enum cfg_flavor_type)type;
	f->corpus_file = xstrdup("traces/corpus.txt");
	f->page_size = 16;
	f->block_size = 512;
	f->num_documents = 10;
	f->conversation_column = xstrdup("conversations");
	f->role_key = xstrdup("from");
	f->content_key = xstrdup("value");
	f->user_role_value = xstrdup("human");
	f->assistant_role_value = xstrdup("gpt");
	f->replay_timestamps = false;
	f->time_scale = 1.0;
}
static const char *tf_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	const TF *f = p;
	if (type == CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN && f->page_size <= 0)
		VFAIL("page_size", "must be > 0");
	if ((type == CFG_FLAVOR_SHARED_PREFIX || type == CFG_FLAVOR_MOONCAKE) && f->block_size <= 0)
		VFAIL("block_size", "must be > 0");
	if (type == CFG_FLAVOR_RAG && f->num_documents <= 0)
		VFAIL("num_documents", "must be > 0");
	if (type == CFG_FLAVOR_MOONCAKE && !(f->time_scale > 0))
		VFAIL("time_scale", "must be > 0");
	return NULL;
}
static const struct cfg_class cls_flavor = {
    .name = "TraceFlavorConfig",
    .size = sizeof(TF),
    .poly = true,
    .type_off = OFF(TF, type),
    .variants = tf_variants,
    .n_variants = 7,
    .defaults = tf_defaults,
    .validate = tf_validate,
    .help = "Format of the trace file.",
};

/* ================= session generators ================= */
#define SG struct cfg_session_gen
static const struct cfg_field sgen_synth[] = {
    {"session_graph", FK_POLY, OFF(SG, session_graph), 0, 0, &cls_session_graph, NULL, 0, "Shape of each session."},
    {"channels", FK_POLY_LIST, OFF(SG, channels), OFF(SG, n_channels), 0, &cls_channel, NULL, 0,
     "Request channels (JSON list on the command line)."},
    {"output_spec", FK_NESTED, OFF(SG, output_spec), 0, 0, &cls_output_spec, NULL, 0,
     "Requested output of each request."},
};
static const struct cfg_field sgen_lmeval[] = {
    {"tasks", FK_STR_LIST, OFF(SG, tasks), OFF(SG, n_tasks), 0, NULL, NULL, 0, "lm-eval task names."},
    {"num_fewshot", FK_INT, OFF(SG, num_fewshot), 0, 0, NULL, NULL, 0, "Few-shot examples per prompt."},
    {"env_path", FK_STR, OFF(SG, env_path), 0, 0, NULL, NULL, FF_NULLABLE | FF_OURS,
     "Veeksha extension: the Python environment (a directory with bin/python) where lm_eval is installed; "
     "the lm-eval bridge runs there (docs/INTEGRATIONS.md)."},
};
static const struct cfg_field sgen_trace[] = {
    {"trace_file", FK_STR, OFF(SG, trace_file), 0, 0, NULL, NULL, 0, "Path of the trace file."},
    {"wrap_mode", FK_BOOL, OFF(SG, wrap_mode), 0, 0, NULL, NULL, 0, "Start over at the end of the trace."},
    {"flavor", FK_POLY, OFF(SG, flavor), 0, 0, &cls_flavor, NULL, 0, "Trace flavor."},
};
static const struct cfg_variant sgen_variants[] = {
    {"synthetic", {G(sgen_synth), G0, G0, G0}},
    {"lmeval", {G(sgen_lmeval), G0, G0, G0}},
    {"trace", {G(sgen_trace), G0, G0, G0}},
};
static void sgen_defaults(void *p, int type)
{
	SG *s = p;
	memset(s, 0, sizeof *s);
	s->type = (enum cfg_session_gen_type)type;
	sg_defaults(&s->session_graph, CFG_GRAPH_LINEAR);
	s->n_channels = 1;
	s->channels = xcalloc(1, sizeof *s->channels);
	ch_defaults(&s->channels[0], CFG_CHANNEL_TEXT);
	os_defaults(&s->output_spec, 0);
	s->n_tasks = 1;
	s->tasks = xcalloc(1, sizeof *s->tasks);
	s->tasks[0] = xstrdup("hellaswag");
	s->num_fewshot = 1;
	s->trace_file = xstrdup("");
	s->wrap_mode = true;
	tf_defaults(&s->flavor, CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN);
}
static const char *sgen_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	const SG *s = p;
	if (type == CFG_SESSION_GEN_SYNTHETIC) {
		if (s->n_channels == 0)
			VFAIL("channels", "must contain at least one channel");
		for (size_t i = 0; i < s->n_channels; i++)
			for (size_t j = 0; j < i; j++)
				if (s->channels[i].type == s->channels[j].type)
					VFAIL("channels", "channel types must be unique ('%s' appears twice)",
					      ch_variants[s->channels[i].type].name);
	}
	if (type == CFG_SESSION_GEN_LMEVAL) {
		if (s->n_tasks == 0)
			VFAIL("tasks", "must contain at least one task");
		if (s->num_fewshot < 0)
			VFAIL("num_fewshot", "must be >= 0");
	}
	return NULL;
}
static const struct cfg_class cls_session_gen = {
    .name = "SessionGeneratorConfig",
    .size = sizeof(SG),
    .poly = true,
    .type_off = OFF(SG, type),
    .variants = sgen_variants,
    .n_variants = 3,
    .from_file = true,
    .defaults = sgen_defaults,
    .validate = sgen_validate,
    .help = "Where sessions come from: synthetic, lm-eval tasks or a trace.",
};

/* ================= traffic ================= */
#define TR struct cfg_traffic
static const char *const ordering_names[] = {"dispatch", "prefill", "request", NULL};
static const struct cfg_field tr_base[] = {
    {"cancel_session_on_failure", FK_BOOL, OFF(TR, cancel_session_on_failure), 0, 0, NULL, NULL, 0,
     "Cancel the rest of a session when one of its requests fails."},
};
static const struct cfg_field tr_rate[] = {
    {"interval_generator", FK_POLY, OFF(TR, interval_generator), 0, 0, &cls_interval, NULL, 0,
     "Session arrival process (sessions per second)."},
    {"max_concurrency", FK_INT, OFF(TR, max_concurrency), 0, 0, NULL, NULL, FF_OURS,
     "At most this many requests in flight (0: no cap; vLLM bench's --max-concurrency). A request due while "
     "the cap is reached waits; its wait counts in dispatch_lateness and e2e_from_intended."},
};
static const struct cfg_field tr_conc[] = {
    {"target_concurrent_sessions", FK_INT, OFF(TR, target_concurrent_sessions), 0, 0, NULL, NULL, 0,
     "Number of sessions kept in flight."},
    {"rampup_seconds", FK_INT, OFF(TR, rampup_seconds), 0, 0, NULL, NULL, 0,
     "Seconds over which concurrency ramps up to the target."},
};
static const struct cfg_field tr_seq[] = {
    {"ordering", FK_ENUM, OFF(TR, ordering), 0, 0, NULL, ordering_names, 0,
     "When the next session may start: dispatch, prefill or request."},
};
static const struct cfg_variant tr_variants[] = {
    {"rate", {G(tr_base), G(tr_rate), G0, G0}},
    {"concurrent", {G(tr_base), G(tr_conc), G0, G0}},
    {"sequential_launch", {G(tr_base), G(tr_seq), G0, G0}},
};
static void tr_defaults(void *p, int type)
{
	TR *t = p;
	memset(t, 0, sizeof *t);
	t->type = (enum cfg_traffic_type)type;
	t->cancel_session_on_failure = true;
	ig_defaults(&t->interval_generator, CFG_INTERVAL_POISSON);
	t->target_concurrent_sessions = 3;
	t->rampup_seconds = 10;
	t->ordering = CFG_ORDERING_DISPATCH;
}
static const char *tr_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	const TR *t = p;
	if (type == CFG_TRAFFIC_RATE && t->max_concurrency < 0)
		VFAIL("max_concurrency", "must be >= 0 (0: no cap; got %lld)", (long long)t->max_concurrency);
	if (type == CFG_TRAFFIC_CONCURRENT) {
		if (t->target_concurrent_sessions <= 0)
			VFAIL("target_concurrent_sessions", "must be > 0 (got %lld)",
			      (long long)t->target_concurrent_sessions);
		if (t->rampup_seconds < 0)
			VFAIL("rampup_seconds", "must be >= 0 (got %lld)", (long long)t->rampup_seconds);
	}
	return NULL;
}
static const struct cfg_class cls_traffic = {
    .name = "TrafficConfig",
    .size = sizeof(TR),
    .poly = true,
    .type_off = OFF(TR, type),
    .variants = tr_variants,
    .n_variants = 3,
    .from_file = true,
    .defaults = tr_defaults,
    .validate = tr_validate,
    .help = "How sessions are launched: rate, concurrent or sequential_launch.",
};

/* ================= connection settings ================= */
const char *config_check_api_base(const char *url)
{
	static const char *const schemes[] = {"http://", "https://"};
	size_t sl = 0;
	for (size_t i = 0; i < 2 && !sl; i++)
		if (!strncasecmp(url, schemes[i], strlen(schemes[i])))
			sl = strlen(schemes[i]);
	if (!sl)
		return "must be an http:// or https:// URL with a host (e.g. http://localhost:8000/v1)";
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces or control characters";
	const char *auth = url + sl;
	size_t alen = strcspn(auth, "/?#");
	const char *host = auth;
	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			host = auth + i + 1; /* user:password@ */
	const char *end = auth + alen, *port = NULL;
	if (host < end && *host == '[') {
		const char *close = NULL;
		for (const char *q = host; q < end && !close; q++)
			if (*q == ']')
				close = q;
		if (!close || close == host + 1)
			return "has an invalid IPv6 host (expected [address])";
		if (close + 1 < end) {
			if (close[1] != ':')
				return "has text after the IPv6 host";
			port = close + 2;
		}
	} else {
		const char *colon = NULL;
		for (const char *q = host; q < end && !colon; q++)
			if (*q == ':')
				colon = q;
		if ((colon ? colon : end) == host)
			return "has no host (expected http://HOST[:PORT]/...)";
		if (colon)
			port = colon + 1;
	}
	if (port) {
		long v = 0;
		if (port == end)
			return "has an empty port";
		for (const char *q = port; q < end; q++) {
			if (*q < '0' || *q > '9' || v > 65535)
				return "has an invalid port (expected 1 to 65535)";
			v = v * 10 + (*q - '0');
		}
		if (v < 1 || v > 65535)
			return "has an invalid port (expected 1 to 65535)";
	}
	/* the request path is appended to the base: after a ? or # it would be query or fragment text
	 * (every request a 404 of the base path) */
	if (strpbrk(end, "?#"))
		return "must not have a query (?) or fragment (#): the request path (e.g. chat/completions) is "
		       "appended "
		       "to it";
	return NULL;
}

const char *config_check_api_key(const char *key)
{
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "must not contain control characters (a CR or LF would inject HTTP headers)";
	return NULL;
}

/* ================= clients ================= */
#define CL struct cfg_client
static const struct cfg_field cl_base[] = {
    {"api_base", FK_STR, OFF(CL, api_base), 0, 0, NULL, NULL, FF_NULLABLE,
     "Server base URL (default: $OPENAI_API_BASE)."},
    {"api_key", FK_STR, OFF(CL, api_key), 0, 0, NULL, NULL, FF_NULLABLE | FF_SECRET | FF_ENV_OPENAI_KEY,
     "API key (default: $OPENAI_API_KEY); redacted in files."},
    {"model", FK_STR, OFF(CL, model), 0, 0, NULL, NULL, 0, "Model name sent with each request."},
    {"address_append_value", FK_STR, OFF(CL, address_append_value), 0, 0, NULL, NULL, 0, "Path appended to api_base."},
    {"request_timeout", FK_INT, OFF(CL, request_timeout), 0, 0, NULL, NULL, 0, "Per-request timeout (seconds)."},
    {"additional_sampling_params", FK_JSON, OFF(CL, additional_sampling_params), 0, 0, NULL, NULL, 0,
     "Extra request body fields (JSON object or mapping)."},
};
static const struct cfg_field cl_chat[] = {
    {"max_tokens_param", FK_STR, OFF(CL, max_tokens_param), 0, 0, NULL, NULL, FF_NULLABLE,
     "Request field carrying the output length."},
    {"ignore_eos", FK_BOOL, OFF(CL, ignore_eos), 0, 0, NULL, NULL, 0, "Ask the server to ignore EOS."},
    {"min_tokens_param", FK_STR, OFF(CL, min_tokens_param), 0, 0, NULL, NULL, FF_NULLABLE,
     "Request field carrying the minimum output length."},
    {"use_min_tokens_prompt_fallback", FK_BOOL, OFF(CL, use_min_tokens_prompt_fallback), 0, 0, NULL, NULL, 0,
     "Ask for the output length in the prompt text."},
};
static const struct cfg_field cl_router[] = {
    {"completions_max_tokens_param", FK_STR, OFF(CL, completions_max_tokens_param), 0, 0, NULL, NULL, FF_NULLABLE,
     "Output-length field for completions-mode requests."},
};
static const struct cfg_field cl_ours[] = {
    {"tokenizer", FK_STR, OFF(CL, tokenizer), 0, 0, NULL, NULL, FF_NULLABLE | FF_OURS,
     "Path of a tokenizer.json (or a directory holding one)."},
    {"verify_tls", FK_BOOL, OFF(CL, verify_tls), 0, 0, NULL, NULL, FF_OURS, "Verify TLS certificates."},
    {"stream", FK_BOOL, OFF(CL, stream), 0, 0, NULL, NULL, FF_OURS, "Stream responses (SSE)."},
    {"include_usage", FK_BOOL, OFF(CL, include_usage), 0, 0, NULL, NULL, FF_OURS,
     "Request stream_options.include_usage."},
    {"max_response_bytes", FK_INT, OFF(CL, max_response_bytes), 0, 0, NULL, NULL, FF_OURS,
     "Largest response accepted (bytes of headers and body); a larger one fails the request."},
    {"ca_bundle", FK_STR, OFF(CL, ca_bundle), 0, 0, NULL, NULL, FF_NULLABLE | FF_OURS,
     "CA certificates to trust: a PEM file or a directory of hashed certificates (default: CURL_CA_BUNDLE, "
     "SSL_CERT_FILE, SSL_CERT_DIR, else the system's)."},
    {"tls_cert", FK_STR, OFF(CL, tls_cert), 0, 0, NULL, NULL, FF_NULLABLE | FF_OURS,
     "Client certificate (PEM) for servers that require mutual TLS."},
    {"tls_key", FK_STR, OFF(CL, tls_key), 0, 0, NULL, NULL, FF_NULLABLE | FF_OURS,
     "Private key (PEM) of tls_cert, when not in the same file."},
};
static const struct cfg_variant cl_variants[] = {
    {"openai_chat_completions", {G(cl_base), G(cl_chat), G(cl_ours), G0}},
    {"openai_completions", {G(cl_base), G(cl_chat), G(cl_ours), G0}},
    {"openai_router", {G(cl_base), G(cl_chat), G(cl_router), G(cl_ours)}},
};
static void cl_defaults(void *p, int type)
{
	CL *c = p;
	memset(c, 0, sizeof *c);
	c->type = (enum cfg_client_type)type;
	c->model = xstrdup("meta-llama/Meta-Llama-3-8B-Instruct");
	c->address_append_value = xstrdup(type == CFG_CLIENT_COMPLETIONS ? "completions" : "chat/completions");
	c->request_timeout = 300;
	c->additional_sampling_params = xstrdup("{}");
	c->max_tokens_param = xstrdup(type == CFG_CLIENT_COMPLETIONS ? "max_tokens" : "max_completion_tokens");
	c->ignore_eos = true;
	c->completions_max_tokens_param = xstrdup("max_tokens");
	c->verify_tls = true;
	c->stream = true;
	c->include_usage = true;
	c->max_response_bytes = (int64_t)64 << 20;
}
static const char *cl_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const CL *c = p;
	if (c->request_timeout <= 0)
		VFAIL("request_timeout", "must be > 0 (got %lld)", (long long)c->request_timeout);
	if (c->max_response_bytes <= 0)
		VFAIL("max_response_bytes", "must be > 0 (got %lld)", (long long)c->max_response_bytes);
	const char *why;
	if (c->api_base && *c->api_base && (why = config_check_api_base(c->api_base)))
		VFAIL("api_base", "%s (got '%.200s')", why, c->api_base);
	if (c->api_key && (why = config_check_api_key(c->api_key)))
		VFAIL("api_key", "%s", why);
	/* n > 1 asks for several answers per request, which the client would merge into one
	 * (docs/CLIENT.md, Responses) */
	cJSON *sp = c->additional_sampling_params ? cJSON_Parse(c->additional_sampling_params) : NULL;
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(sp, "n");
	bool several = n && !cJSON_IsNull(n) && !(cJSON_IsNumber(n) && n->valuedouble == 1);
	cJSON_Delete(sp);
	if (several)
		VFAIL("additional_sampling_params",
		      "\"n\" must be 1 or absent: the client measures one answer (choice) per request");
	return NULL;
}
static const struct cfg_class cls_client = {
    .name = "ClientConfig",
    .size = sizeof(CL),
    .poly = true,
    .type_off = OFF(CL, type),
    .variants = cl_variants,
    .n_variants = 3,
    .from_file = true,
    .defaults = cl_defaults,
    .validate = cl_validate,
    .help = "OpenAI-compatible HTTP client.",
};

/* ================= runtime ================= */
#define RT struct cfg_runtime
static const struct cfg_field rt_fields[] = {
    {"max_sessions", FK_INT, OFF(RT, max_sessions), 0, 0, NULL, NULL, 0,
     "Sessions to run (-1: unlimited, until the timeout)."},
    {"benchmark_timeout", FK_INT, OFF(RT, benchmark_timeout), 0, 0, NULL, NULL, 0,
     "Benchmark duration limit in seconds (<= 0 disables)."},
    {"post_timeout_grace_seconds", FK_INT, OFF(RT, post_timeout_grace_seconds), 0, 0, NULL, NULL, 0,
     "After the timeout: -1 wait for in-flight requests, 0 stop at once, N wait N seconds."},
    {"num_dispatcher_threads", FK_INT, OFF(RT, num_dispatcher_threads), 0, 0, NULL, NULL, 0,
     "Dispatcher threads (accepted; the C engine uses one event loop)."},
    {"num_completion_threads", FK_INT, OFF(RT, num_completion_threads), 0, 0, NULL, NULL, 0,
     "Completion threads (accepted; the C engine uses one event loop)."},
    {"num_client_threads", FK_INT, OFF(RT, num_client_threads), 0, 0, NULL, NULL, 0,
     "Client event loops, each on its own thread as one shard of the workload, merged exactly at the end "
     "(docs/DISTRIBUTED.md); at most the CPUs this process may use. The reference's default is 3; ours is 1."},
    {"pregenerate_sessions", FK_BOOL, OFF(RT, pregenerate_sessions), 0, 0, NULL, NULL, 0,
     "Generate all sessions before starting (only with max_sessions > 0)."},
    {"dispatch_spin_us", FK_INT, OFF(RT, dispatch_spin_us), 0, 0, NULL, NULL, FF_OURS | FF_AUTO,
     "Veeksha extension: the most microseconds the client stays awake before a scheduled dispatch, so that "
     "a late wake-up (an idle VM vCPU) cannot delay it. auto: as long as this host's measured wake-up "
     "lateness needs, napping at most 20000 and polling at most 200; N: the same, at most N; 0: sleep until "
     "the dispatch (docs/CLIENT.md, Dispatch spin)."},
    {"max_request_tokens", FK_INT, OFF(RT, max_request_tokens), 0, 0, NULL, NULL, FF_OURS,
     "Veeksha extension: largest prompt or output length in tokens that a length generator or a trace "
     "row may ask for (server.max_model_len is the limit instead when it is smaller)."},
    {"saturation_busy_fraction", FK_FLOAT, OFF(RT, saturation_busy_fraction), 0, 0, NULL, NULL, FF_OURS,
     "Veeksha extension: a 250 ms tick in which the client loop was busier than this is a busy tick; more "
     "than 10% busy ticks make the run client_saturated (docs/METRICS.md, Client saturation)."},
    {"saturation_lateness_p99_ms", FK_FLOAT, OFF(RT, saturation_lateness_p99_ms), 0, 0, NULL, NULL, FF_OURS,
     "Veeksha extension: a dispatch lateness p99 above this many ms makes the run client_saturated."},
};
static void rt_defaults(void *p, int type)
{
	(void)type;
	RT *r = p;
	r->max_sessions = 25;
	r->benchmark_timeout = 300;
	r->post_timeout_grace_seconds = -1;
	r->num_dispatcher_threads = 2;
	r->num_completion_threads = 2;
	r->num_client_threads = 1; /* the reference: 3 worker threads; here each thread is a whole client loop */
	r->pregenerate_sessions = false;
	r->dispatch_spin_us = CFG_INT_AUTO;
	r->max_request_tokens = CFG_DEFAULT_MAX_REQUEST_TOKENS;
	r->saturation_busy_fraction = 0.9;
	r->saturation_lateness_p99_ms = 1.0;
}
static const char *rt_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const RT *r = p;
	if (r->max_sessions == 0 || r->max_sessions < -1)
		VFAIL("max_sessions", "must be > 0 or -1 (unlimited) (got %lld)", (long long)r->max_sessions);
	if (r->post_timeout_grace_seconds < -1)
		VFAIL("post_timeout_grace_seconds", "must be >= -1");
	if (r->num_dispatcher_threads <= 0)
		VFAIL("num_dispatcher_threads", "must be > 0");
	if (r->num_completion_threads <= 0)
		VFAIL("num_completion_threads", "must be > 0");
	if (r->num_client_threads <= 0)
		VFAIL("num_client_threads", "must be > 0");
	if (!(r->saturation_busy_fraction > 0.0 && r->saturation_busy_fraction <= 1.0))
		VFAIL("saturation_busy_fraction", "must be in (0, 1]");
	if (!(r->saturation_lateness_p99_ms >= 0.0))
		VFAIL("saturation_lateness_p99_ms", "must be >= 0");
	if (r->dispatch_spin_us != CFG_INT_AUTO && (r->dispatch_spin_us < 0 || r->dispatch_spin_us > 1000000))
		VFAIL("dispatch_spin_us", "must be auto or between 0 and 1000000 (got %lld)",
		      (long long)r->dispatch_spin_us);
	if (r->max_request_tokens < 1 || r->max_request_tokens > CFG_MAX_REQUEST_TOKENS_CEILING)
		VFAIL("max_request_tokens", "must be between 1 and %lld (got %lld)",
		      (long long)CFG_MAX_REQUEST_TOKENS_CEILING, (long long)r->max_request_tokens);
	return NULL;
}
static const struct cfg_class cls_runtime = {
    .name = "RuntimeConfig",
    .size = sizeof(RT),
    .fields = G(rt_fields),
    .from_file = true,
    .defaults = rt_defaults,
    .validate = rt_validate,
    .help = "Run limits and worker counts.",
};

/* ================= SLOs ================= */
static const char *const slo_metric_names[] = {"ttfc", "tbc", "tpot", "e2e", "ttfo", NULL};
static const struct cfg_field slo_fields[] = {
    {"percentile", FK_FLOAT, OFF(struct cfg_slo, percentile), 0, 0, NULL, NULL, 0,
     "Percentile in [0, 1] the SLO applies to."},
    {"name", FK_STR, OFF(struct cfg_slo, name), 0, 0, NULL, NULL, FF_NULLABLE, "Display name."},
    {"metric", FK_ENUM, OFF(struct cfg_slo, metric), 0, 0, NULL, slo_metric_names, 0,
     "Metric: ttfc, tbc, tpot, e2e or ttfo (time to first answer token of reasoning models)."},
    {"value", FK_FLOAT, OFF(struct cfg_slo, value), 0, 0, NULL, NULL, 0, "Threshold in seconds (> 0)."},
};
static const struct cfg_variant slo_variants[] = {
    {"constant", {G(slo_fields), G0, G0, G0}},
};
static void slo_defaults(void *p, int type)
{
	(void)type;
	struct cfg_slo *s = p;
	memset(s, 0, sizeof *s);
	s->percentile = 0.99;
	s->name = NULL;
	s->metric = CFG_SLO_TTFC;
	s->value = -1.0;
}
static const char *slo_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const struct cfg_slo *s = p;
	if (!(s->percentile >= 0 && s->percentile <= 1))
		VFAIL("percentile", "must be in [0, 1] (got %g)", s->percentile);
	if (!(s->value > 0))
		VFAIL("value", "value must be specified and must be > 0");
	return NULL;
}
static const struct cfg_class cls_slo = {
    .name = "SloConfig",
    .size = sizeof(struct cfg_slo),
    .poly = true,
    .type_off = (size_t)-1, /* single variant, no type field */
    .variants = slo_variants,
    .n_variants = 1,
    .defaults = slo_defaults,
    .validate = slo_validate,
    .help = "A service-level objective.",
};

/* ================= evaluators ================= */
#define EV struct cfg_evaluator
#define DW struct cfg_decode_window
static const char *const window_names[] = {"longest", "first", "all", NULL};
static const struct cfg_field dw_fields[] = {
    {"min_active_requests", FK_MIN_ACTIVE, 0, 0, 0, NULL, NULL, 0,
     "Minimum in-flight requests of a decode window (int > 0 or \"max_observed\")."},
    {"selection_strategy", FK_ENUM, OFF(DW, selection_strategy), 0, 0, NULL, window_names, 0,
     "Which windows to use: longest, first or all."},
    {"anchor_to_client_pickup", FK_BOOL, OFF(DW, anchor_to_client_pickup), 0, 0, NULL, NULL, 0,
     "Anchor windows to the client pickup time."},
    {"require_streaming", FK_BOOL, OFF(DW, require_streaming), 0, 0, NULL, NULL, 0, "Only streaming requests count."},
};
static void dw_defaults(void *p, int type)
{
	(void)type;
	DW *d = p;
	memset(d, 0, sizeof *d);
	d->min_active_max_observed = false;
	d->min_active_requests = 1;
	d->selection_strategy = CFG_WINDOW_LONGEST;
	d->anchor_to_client_pickup = true;
	d->require_streaming = true;
}
static const char *dw_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const DW *d = p;
	if (!d->min_active_max_observed && d->min_active_requests <= 0)
		VFAIL("min_active_requests", "must be > 0 or \"max_observed\"");
	return NULL;
}
static const struct cfg_class cls_decode_window = {
    .name = "DecodeWindowConfig",
    .size = sizeof(DW),
    .fields = G(dw_fields),
    .defaults = dw_defaults,
    .validate = dw_validate,
    .help = "Steady-state decode window detection.",
};
static const struct cfg_field ev_text_fields[] = {
    {"decode_window_enabled", FK_BOOL, OFF(EV, decode_window_enabled), 0, 0, NULL, NULL, 0,
     "Compute decode-window metrics."},
    {"decode_window_config", FK_NESTED, OFF(EV, decode_window_config), OFF(EV, has_decode_window_config), 0,
     &cls_decode_window, NULL, FF_OPTIONAL, "Decode window settings (required when enabled)."},
};
static const char *ev_text_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const EV *e = p;
	if (e->decode_window_enabled && !e->has_decode_window_config)
		VFAIL("decode_window_config", "is required when decode_window_enabled is true");
	return NULL;
}
static void ev_text_defaults(void *p, int type)
{
	(void)type;
	EV *e = p;
	e->decode_window_enabled = false;
	e->has_decode_window_config = false;
	dw_defaults(&e->decode_window_config, 0);
}
static const struct cfg_class cls_ev_text = {
    .name = "TextChannelPerformanceConfig",
    .fields = G(ev_text_fields),
    .type_tag = "text",
    .defaults = ev_text_defaults,
    .validate = ev_text_validate,
    .help = "Text channel performance settings.",
};
static void ev_image_defaults(void *p, int type)
{
	(void)p;
	(void)type;
}
static const struct cfg_class cls_ev_image = {
    .name = "ImageChannelPerformanceConfig",
    .type_tag = "image",
    .defaults = ev_image_defaults,
    .help = "Image channel performance settings (none).",
};
static const struct cfg_field ev_base[] = {
    {"target_channels", FK_CHAN_LIST, OFF(EV, target_channels), OFF(EV, n_target_channels), 0, NULL, NULL, 0,
     "Channels evaluated (text, image, audio, video)."},
    {"slos", FK_POLY_LIST, OFF(EV, slos), OFF(EV, n_slos), 0, &cls_slo, NULL, 0, "Service-level objectives."},
    {"stream_metrics", FK_BOOL, OFF(EV, stream_metrics), 0, 0, NULL, NULL, 0,
     "Print metrics periodically during the run."},
    {"stream_metrics_interval", FK_FLOAT, OFF(EV, stream_metrics_interval), 0, 0, NULL, NULL, 0,
     "Seconds between streamed metric updates."},
};
static const struct cfg_field ev_perf[] = {
    {"max_error_rate", FK_FLOAT, OFF(EV, max_error_rate), 0, 0, NULL, NULL, 0,
     "Largest fraction of errored requests, in [0, 1], for the SLOs to count as met (0.0: any error fails)."},
    {"timeseries_interval_s", FK_FLOAT, OFF(EV, timeseries_interval_s), 0, 0, NULL, NULL, FF_OURS,
     "Seconds per row of metrics/timeseries.csv (the run over time; 0: no time series)."},
    {"warmup_seconds", FK_FLOAT, OFF(EV, warmup_seconds), 0, 0, NULL, NULL, FF_OURS,
     "Requests dispatched in the first this many seconds run but are left out of every metric (0: none)."},
    {"warmup_requests", FK_INT, OFF(EV, warmup_requests), 0, 0, NULL, NULL, FF_OURS,
     "The first this many requests dispatched run but are left out of every metric (0: none)."},
    {"cooldown_seconds", FK_FLOAT, OFF(EV, cooldown_seconds), 0, 0, NULL, NULL, FF_OURS,
     "Requests dispatched in the last this many seconds of the run are left out of every metric (0: none)."},
    {"cooldown_requests", FK_INT, OFF(EV, cooldown_requests), 0, 0, NULL, NULL, FF_OURS,
     "The last this many requests dispatched are left out of every metric (0: none)."},
    {"text_channel", FK_NESTED, 0, 0, 0, &cls_ev_text, NULL, 0, "Text channel settings."},
    {"image_channel", FK_NESTED, 0, 0, 0, &cls_ev_image, NULL, 0, "Image channel settings."},
    {"audio_channel", FK_NULL, 0, 0, 0, NULL, NULL, 0, "Not supported: must be null."},
    {"video_channel", FK_NULL, 0, 0, 0, NULL, NULL, 0, "Not supported: must be null."},
};
static const struct cfg_field ev_acc[] = {
    {"bootstrap_iters", FK_INT, OFF(EV, bootstrap_iters), 0, 0, NULL, NULL, 0,
     "Bootstrap iterations for the standard error."},
};
static const struct cfg_variant ev_variants[] = {
    {"performance", {G(ev_base), G(ev_perf), G0, G0}},
    {"accuracy_lmeval", {G(ev_base), G(ev_acc), G0, G0}},
};
static void ev_defaults(void *p, int type)
{
	EV *e = p;
	memset(e, 0, sizeof *e);
	e->type = (enum cfg_evaluator_type)type;
	e->n_target_channels = 1;
	e->target_channels = xcalloc(1, sizeof *e->target_channels);
	e->target_channels[0] = CFG_CHANNEL_TEXT;
	e->n_slos = 2;
	e->slos = xcalloc(2, sizeof *e->slos);
	slo_defaults(&e->slos[0], 0);
	e->slos[0].metric = CFG_SLO_TTFC;
	e->slos[0].percentile = 0.99;
	e->slos[0].value = 0.5;
	e->slos[0].name = xstrdup("P99 TTFC");
	slo_defaults(&e->slos[1], 0);
	e->slos[1].metric = CFG_SLO_TBC;
	e->slos[1].percentile = 0.9;
	e->slos[1].value = 0.05;
	e->slos[1].name = xstrdup("P90 TBC");
	e->stream_metrics = true;
	e->stream_metrics_interval = 5.0;
	e->timeseries_interval_s = 1.0;
	ev_text_defaults(e, 0);
	e->bootstrap_iters = 100000;
}
static const char *ev_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	const EV *e = p;
	if (!(e->stream_metrics_interval > 0))
		VFAIL("stream_metrics_interval", "must be > 0");
	if (type == CFG_EVAL_PERFORMANCE && !(e->max_error_rate >= 0.0 && e->max_error_rate <= 1.0))
		VFAIL("max_error_rate", "must be in [0, 1]");
	if (type == CFG_EVAL_PERFORMANCE && !(e->timeseries_interval_s == 0.0 || (e->timeseries_interval_s >= 0.001 &&
	                                                                          e->timeseries_interval_s <= 86400.0)))
		VFAIL("timeseries_interval_s", "must be 0 (off) or in [0.001, 86400] seconds");
	if (type == CFG_EVAL_PERFORMANCE && !(e->warmup_seconds >= 0.0))
		VFAIL("warmup_seconds", "must be >= 0");
	if (type == CFG_EVAL_PERFORMANCE && !(e->cooldown_seconds >= 0.0))
		VFAIL("cooldown_seconds", "must be >= 0");
	if (type == CFG_EVAL_PERFORMANCE && e->warmup_requests < 0)
		VFAIL("warmup_requests", "must be >= 0");
	if (type == CFG_EVAL_PERFORMANCE && e->cooldown_requests < 0)
		VFAIL("cooldown_requests", "must be >= 0");
	if (type == CFG_EVAL_ACCURACY_LMEVAL && e->bootstrap_iters < 0)
		VFAIL("bootstrap_iters", "must be >= 0");
	return NULL;
}
static const struct cfg_class cls_evaluator = {
    .name = "EvaluatorConfig",
    .size = sizeof(EV),
    .poly = true,
    .type_off = OFF(EV, type),
    .variants = ev_variants,
    .n_variants = 2,
    .defaults = ev_defaults,
    .validate = ev_validate,
    .help = "An evaluator (performance or accuracy_lmeval).",
};

/* ================= trace recorder ================= */
static const struct cfg_field trr_fields[] = {
    {"enabled", FK_BOOL, OFF(struct cfg_trace_recorder, enabled), 0, 0, NULL, NULL, 0,
     "Write traces/dispatch_trace.jsonl."},
    {"include_content", FK_BOOL, OFF(struct cfg_trace_recorder, include_content), 0, 0, NULL, NULL, 0,
     "Include request content in the trace."},
};
static void trr_defaults(void *p, int type)
{
	(void)type;
	struct cfg_trace_recorder *t = p;
	t->enabled = true;
	t->include_content = false;
}
static const struct cfg_class cls_trace_recorder = {
    .name = "TraceRecorderConfig",
    .size = sizeof(struct cfg_trace_recorder),
    .fields = G(trr_fields),
    .from_file = true,
    .defaults = trr_defaults,
    .help = "Dispatch trace recording.",
};

/* ================= server metrics scrape (docs/OBSERVABILITY.md) ================= */
#define SM struct cfg_server_metrics
static const struct cfg_field sm_fields[] = {
    {"enabled", FK_BOOL, OFF(SM, enabled), 0, 0, NULL, NULL, FF_OURS,
     "Scrape the server's Prometheus endpoint during the run (metrics/server_metrics.csv, server_summary.json)."},
    {"interval_s", FK_FLOAT, OFF(SM, interval_s), 0, 0, NULL, NULL, FF_OURS, "Seconds between scrapes."},
    {"url", FK_STR, OFF(SM, url), 0, 0, NULL, NULL, FF_NULLABLE | FF_OURS,
     "Endpoint (null: the managed server's /metrics, else scheme://host:port of client.api_base + /metrics)."},
    {"prefixes", FK_STR_LIST, OFF(SM, prefixes), OFF(SM, n_prefixes), 0, NULL, NULL, FF_OURS,
     "Sample-name prefixes kept ([]: every sample)."},
};
static void sm_defaults(void *p, int type)
{
	(void)type;
	SM *m = p;
	memset(m, 0, sizeof *m);
	m->enabled = true;
	m->interval_s = 1.0;
	static const char *const def[] = {"vllm:", "sglang:", "sim:"};
	m->n_prefixes = sizeof def / sizeof def[0];
	m->prefixes = xcalloc(m->n_prefixes, sizeof *m->prefixes);
	for (size_t i = 0; i < m->n_prefixes; i++)
		m->prefixes[i] = xstrdup(def[i]);
}
static const char *sm_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const SM *m = p;
	if (!(m->interval_s >= 0.05 && m->interval_s <= 3600))
		VFAIL("interval_s", "must be between 0.05 and 3600 seconds (got %g)", m->interval_s);
	if (m->url && *m->url && strncmp(m->url, "http://", 7) && strncmp(m->url, "https://", 8))
		VFAIL("url", "must start with http:// or https:// (got '%s')", m->url);
	return NULL;
}
static const struct cfg_class cls_server_metrics = {
    .name = "ServerMetricsConfig",
    .size = sizeof(SM),
    .fields = G(sm_fields),
    .from_file = true,
    .defaults = sm_defaults,
    .validate = sm_validate,
    .help = "Scrape of the server's Prometheus metrics during the run (ours).",
};

/* ================= servers ================= */
#define SV struct cfg_server
static const struct cfg_field sv_fields[] = {
    {"env_path", FK_STR, OFF(SV, env_path), 0, 0, NULL, NULL, FF_NULLABLE,
     "Python environment holding the server (~ expanded; bin/python must exist)."},
    {"model", FK_STR, OFF(SV, model), 0, 0, NULL, NULL, 0, "Model served."},
    {"host", FK_STR, OFF(SV, host), 0, 0, NULL, NULL, 0, "Host the server binds to."},
    {"port", FK_INT, OFF(SV, port), 0, 0, NULL, NULL, 0, "Port the server listens on."},
    {"api_key", FK_STR, OFF(SV, api_key), 0, 0, NULL, NULL, FF_SECRET | FF_NULLABLE,
     "API key the server requires; redacted in files."},
    {"gpu_ids", FK_INT_LIST, OFF(SV, gpu_ids), OFF(SV, n_gpu_ids), OFF(SV, has_gpu_ids), NULL, NULL, FF_OPTIONAL,
     "GPUs to use (null: auto-assign)."},
    {"startup_timeout", FK_INT, OFF(SV, startup_timeout), 0, 0, NULL, NULL, 0,
     "Seconds to wait for the server to become healthy."},
    {"health_check_interval", FK_FLOAT, OFF(SV, health_check_interval), 0, 0, NULL, NULL, 0,
     "Seconds between health checks."},
    {"require_contiguous_gpus", FK_BOOL, OFF(SV, require_contiguous_gpus), 0, 0, NULL, NULL, 0,
     "Auto-assignment requires consecutive GPU ids."},
    {"tensor_parallel_size", FK_INT, OFF(SV, tensor_parallel_size), 0, 0, NULL, NULL, 0,
     "Tensor parallel degree (GPUs)."},
    {"dtype", FK_STR, OFF(SV, dtype), 0, 0, NULL, NULL, 0, "Model dtype (auto, float16, bfloat16)."},
    {"max_model_len", FK_INT, OFF(SV, max_model_len), 0, 0, NULL, NULL, FF_NULL0 | FF_NULLABLE,
     "Maximum context length, > 0 (null: the model's)."},
    {"additional_args", FK_JSON, OFF(SV, additional_args), 0, 0, NULL, NULL, FF_NULLABLE,
     "Extra server arguments (JSON object string or mapping)."},
    {"cpu_ids", FK_INT_LIST, OFF(SV, gpu_ids), OFF(SV, n_gpu_ids), OFF(SV, has_gpu_ids), NULL, NULL,
     FF_OPTIONAL | FF_ALIAS, "Deprecated alias of gpu_ids."},
};
static const struct cfg_variant sv_variants[] = {
    {"vllm", {G(sv_fields), G0, G0, G0}},
    {"vajra", {G(sv_fields), G0, G0, G0}},
    {"sglang", {G(sv_fields), G0, G0, G0}},
    {"sim", {G(sv_fields), G0, G0, G0}},
};
static void sv_defaults(void *p, int type)
{
	SV *s = p;
	memset(s, 0, sizeof *s);
	s->type = (enum cfg_server_type)type;
	s->model = xstrdup("meta-llama/Meta-Llama-3-8B-Instruct");
	s->host = xstrdup("localhost");
	s->port = 8000;
	s->api_key = xstrdup("token-abc123");
	s->startup_timeout = 300;
	s->health_check_interval = 2.0;
	s->require_contiguous_gpus = true;
	s->tensor_parallel_size = 1;
	s->dtype = xstrdup("auto");
	s->max_model_len = 0;
	s->additional_args = xstrdup("{}");
}
static const char *sv_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const SV *s = p;
	/* (checked again at launch, src/server; here they are named with the file and line) */
	if (!s->model || !*s->model)
		VFAIL("model", "must not be empty");
	if (!s->host || !*s->host)
		VFAIL("host", "must not be empty");
	if (s->port <= 0 || s->port > 65535)
		VFAIL("port", "must be in [1, 65535] (got %lld)", (long long)s->port);
	if (s->tensor_parallel_size <= 0)
		VFAIL("tensor_parallel_size", "must be > 0");
	if (s->startup_timeout <= 0)
		VFAIL("startup_timeout", "must be > 0");
	if (!(s->health_check_interval > 0))
		VFAIL("health_check_interval", "must be > 0");
	if (s->max_model_len < 0)
		VFAIL("max_model_len", "must be > 0 or null");
	for (size_t i = 0; i < s->n_gpu_ids; i++)
		if (s->gpu_ids[i] < 0)
			VFAIL("gpu_ids", "GPU ids must be >= 0");
	if (s->has_gpu_ids && s->n_gpu_ids == 0)
		VFAIL("gpu_ids", "must not be empty (use null to auto-assign)");
	for (size_t i = 0; i < s->n_gpu_ids; i++)
		for (size_t j = 0; j < i; j++)
			if (s->gpu_ids[j] == s->gpu_ids[i])
				VFAIL("gpu_ids", "GPU %lld listed twice", (long long)s->gpu_ids[i]);
	/* one GPU per tensor-parallel rank (docs/SERVERS.md, GPUs); the sim takes no GPU */
	if (s->has_gpu_ids && s->type != CFG_SERVER_SIM && (int64_t)s->n_gpu_ids != s->tensor_parallel_size)
		VFAIL("gpu_ids", "lists %zu GPU(s) but tensor_parallel_size is %lld: they must match", s->n_gpu_ids,
		      (long long)s->tensor_parallel_size);

	const char *why;
	if (s->api_key && (why = config_check_api_key(s->api_key)))
		VFAIL("api_key", "%s", why);
	return NULL;
}
const struct cfg_class cfg_cls_server = {
    .name = "ServerConfig",
    .size = sizeof(SV),
    .poly = true,
    .type_off = OFF(SV, type),
    .variants = sv_variants,
    .n_variants = 4,
    .from_file = true,
    .defaults = sv_defaults,
    .validate = sv_validate,
    .help = "Managed inference server (vllm, vajra, sglang or the built-in sim).",
};

/* ================= wandb ================= */
#define WB struct cfg_wandb
static const struct cfg_field wb_fields[] = {
    {"enabled", FK_BOOL, OFF(WB, enabled), 0, 0, NULL, NULL, 0,
     "Log the run to Weights & Biases at its end (docs/INTEGRATIONS.md)."},
    {"project", FK_STR, OFF(WB, project), 0, 0, NULL, NULL, FF_NULLABLE, "W&B project."},
    {"entity", FK_STR, OFF(WB, entity), 0, 0, NULL, NULL, FF_NULLABLE, "W&B entity."},
    {"group", FK_STR, OFF(WB, group), 0, 0, NULL, NULL, FF_NULLABLE, "W&B group."},
    {"run_name", FK_STR, OFF(WB, run_name), 0, 0, NULL, NULL, FF_NULLABLE, "W&B run name."},
    {"tags", FK_STR_LIST, OFF(WB, tags), OFF(WB, n_tags), 0, NULL, NULL, 0, "W&B tags."},
    {"notes", FK_STR, OFF(WB, notes), 0, 0, NULL, NULL, FF_NULLABLE, "W&B notes."},
    {"mode", FK_STR, OFF(WB, mode), 0, 0, NULL, NULL, FF_NULLABLE, "W&B mode."},
    {"log_artifacts", FK_BOOL, OFF(WB, log_artifacts), 0, 0, NULL, NULL, 0, "Upload artifacts."},
    {"env_path", FK_STR, OFF(WB, env_path), 0, 0, NULL, NULL, FF_NULLABLE | FF_OURS,
     "Veeksha extension: the Python environment (a directory with bin/python) where wandb is installed; the "
     "W&B bridge runs there (docs/INTEGRATIONS.md)."},
};
static void wb_defaults(void *p, int type)
{
	(void)type;
	WB *w = p;
	memset(w, 0, sizeof *w);
	w->log_artifacts = true;
}
static const struct cfg_class cls_wandb = {
    .name = "WandbConfig",
    .size = sizeof(WB),
    .fields = G(wb_fields),
    .from_file = true,
    .defaults = wb_defaults,
    .help = "Weights & Biases logging (docs/INTEGRATIONS.md).",
};

/* ================= benchmark ================= */
#define BM struct cfg_benchmark
static const struct cfg_field bm_fields[] = {
    {"output_dir", FK_STR, OFF(BM, output_dir), 0, 0, NULL, NULL, 0,
     "Directory under which the run directory is created."},
    {"seed", FK_INT, OFF(BM, seed), 0, 0, NULL, NULL, 0, "Root seed of every random stream."},
    {"session_generator", FK_POLY, OFF(BM, session_generator), 0, 0, &cls_session_gen, NULL, 0,
     "Where sessions come from."},
    {"traffic_scheduler", FK_POLY, OFF(BM, traffic_scheduler), 0, 0, &cls_traffic, NULL, 0,
     "How sessions are launched."},
    {"evaluators", FK_POLY_LIST, OFF(BM, evaluators), OFF(BM, n_evaluators), 0, &cls_evaluator, NULL, 0,
     "Evaluators (JSON list on the command line; non-empty)."},
    {"client", FK_POLY, OFF(BM, client), 0, 0, &cls_client, NULL, 0, "HTTP client."},
    {"runtime", FK_NESTED, OFF(BM, runtime), 0, 0, &cls_runtime, NULL, 0, "Run limits."},
    {"trace_recorder", FK_NESTED, OFF(BM, trace_recorder), 0, 0, &cls_trace_recorder, NULL, 0,
     "Dispatch trace recording."},
    {"server_metrics", FK_NESTED, OFF(BM, server_metrics), 0, 0, &cls_server_metrics, NULL, FF_OURS,
     "Server metrics scrape (docs/OBSERVABILITY.md)."},
    {"server", FK_POLY, OFF(BM, server), OFF(BM, has_server), 0, &cfg_cls_server, NULL, FF_OPTIONAL,
     "Managed server (null: use an external server)."},
    {"wandb", FK_NESTED, OFF(BM, wandb), 0, 0, &cls_wandb, NULL, 0, "Weights & Biases logging."},
};
static void bm_defaults(void *p, int type)
{
	(void)type;
	BM *b = p;
	memset(b, 0, sizeof *b);
	b->output_dir = xstrdup("benchmark_output");
	b->seed = 42;
	sgen_defaults(&b->session_generator, CFG_SESSION_GEN_SYNTHETIC);
	tr_defaults(&b->traffic_scheduler, CFG_TRAFFIC_RATE);
	b->n_evaluators = 1;
	b->evaluators = xcalloc(1, sizeof *b->evaluators);
	ev_defaults(&b->evaluators[0], CFG_EVAL_PERFORMANCE);
	cl_defaults(&b->client, CFG_CLIENT_CHAT);
	rt_defaults(&b->runtime, 0);
	trr_defaults(&b->trace_recorder, 0);
	sm_defaults(&b->server_metrics, 0);
	b->has_server = false;
	sv_defaults(&b->server, CFG_SERVER_VLLM);
	wb_defaults(&b->wandb, 0);
}
/* Largest value a length generator can return; -1 when unbounded (inverse_gaussian: its draws are
 * clamped to the limit by the session generator instead). *field: the key that sets it. */
static int64_t lg_max_value(const LG *g, const char **field)
{
	switch (g->type) {
	case CFG_LENGTH_FIXED:
		*field = "value";
		return g->value;
	case CFG_LENGTH_FIXED_STAIR: {
		int64_t m = 0;
		for (size_t i = 0; i < g->n_values; i++)
			m = g->values[i] > m ? g->values[i] : m;
		*field = "values";
		return m;
	}
	case CFG_LENGTH_UNIFORM:
	case CFG_LENGTH_ZIPF:
		*field = "max";
		return g->max;
	case CFG_LENGTH_INVERSE_GAUSSIAN:
		*field = "mean";
		return -1;
	}
	return -1;
}

/* A length past the limit would make the prompt builder grow memory without end (a 2e9-token
 * prompt: ~370 MB/s until the kernel killed the run), or ask the server for what it must refuse.
 * Also bounds the number of requests per session (every node is built before the first dispatch).
 * docs/CONFIG.md, "Limits". */
static const char *bm_check_len(const LG *g, const char *path, int64_t lim, const char *why, const char **key,
                                struct cfg_verr *ve)
{
	const char *field = NULL;
	int64_t m = lg_max_value(g, &field);
	bool bad = m > lim || (m < 0 && g->mean > (double)lim);
	if (!bad)
		return NULL;
	snprintf(ve->key, sizeof ve->key, "%s.%s", path, field);
	*key = ve->key;
	if (m < 0)
		snprintf(ve->msg, sizeof ve->msg, "mean %g exceeds the limit of %lld (%s)", g->mean, (long long)lim,
		         why);
	else
		snprintf(ve->msg, sizeof ve->msg, "%lld exceeds the limit of %lld (%s)", (long long)m, (long long)lim,
		         why);
	return ve->msg;
}

int config_check_context(const struct cfg_benchmark *b, int64_t context_tokens, const char *source, char *key,
                         size_t key_len, char *err, size_t err_len)
{
	const struct cfg_session_gen *sg = &b->session_generator;
	if (sg->type != CFG_SESSION_GEN_SYNTHETIC || context_tokens <= 0 || sg->n_channels == 0)
		return 0;
	const char *fb = NULL, *fo = NULL;
	int64_t body = lg_max_value(&sg->channels[0].body_length_generator, &fb);
	int64_t out = sg->output_spec.has_text ? lg_max_value(&sg->output_spec.text_output_length, &fo) : 0;
	if (body < 0 || out < 0)
		return 0; /* an unbounded distribution: the server answers each request */
	if (body + out <= context_tokens && body < context_tokens)
		return 0;
	/* the prompt alone does not fit: its generator; else the output's pushes it over */
	if (body >= context_tokens || !fo)
		snprintf(key, key_len, "session_generator.channels[0].body_length_generator.%s", fb);
	else
		snprintf(key, key_len, "session_generator.output_spec.text.output_length_generator.%s", fo);
	snprintf(err, err_len,
	         "prompts of up to %lld tokens and outputs of up to %lld tokens do not fit the model's context "
	         "of %lld tokens (%s)",
	         (long long)body, (long long)out, (long long)context_tokens, source);
	return -1;
}

static const char *bm_validate_sizes(const BM *b, const char **key, struct cfg_verr *ve)
{
	const struct cfg_session_gen *sg = &b->session_generator;
	const char *why;
	int64_t lim = config_max_request_tokens(b, &why);
	if (sg->type == CFG_SESSION_GEN_TRACE) {
		/* trace rows are checked as they are read (the same limit); the flavor's own prompt unit
		 * here, only where the flavor uses it (docs/TRACES.md) */
		const struct cfg_trace_flavor *f = &sg->flavor;
		bool paged = f->type == CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN;
		bool blocked = f->type == CFG_FLAVOR_SHARED_PREFIX || f->type == CFG_FLAVOR_MOONCAKE;
		if (paged || blocked) {
			int64_t v = paged ? f->page_size : f->block_size;
			if (v > lim) {
				*key = paged ? "session_generator.flavor.page_size"
				             : "session_generator.flavor.block_size";
				snprintf(ve->msg, sizeof ve->msg, "%lld exceeds the limit of %lld (%s)", (long long)v,
				         (long long)lim, why);
				return ve->msg;
			}
		}
		return NULL;
	}
	if (sg->type != CFG_SESSION_GEN_SYNTHETIC)
		return NULL;
	const char *msg;
	char path[96];
	/* each length within our own limit; prompt + output within a managed server's context */
	int64_t own = b->runtime.max_request_tokens;
	const char *own_why = "runtime.max_request_tokens";
	for (size_t i = 0; i < sg->n_channels; i++) {
		snprintf(path, sizeof path, "session_generator.channels[%zu].body_length_generator", i);
		if ((msg = bm_check_len(&sg->channels[i].body_length_generator, path, own, own_why, key, ve)))
			return msg;
	}
	if (sg->output_spec.has_text &&
	    (msg = bm_check_len(&sg->output_spec.text_output_length,
	                        "session_generator.output_spec.text.output_length_generator", own, own_why, key, ve)))
		return msg;
	if (b->has_server && config_check_context(b, b->server.max_model_len, "server.max_model_len", ve->key,
	                                          sizeof ve->key, ve->msg, sizeof ve->msg) != 0) {
		*key = ve->key;
		return ve->msg;
	}
	const struct cfg_session_graph *gr = &sg->session_graph;
	const char *sw = "requests per session, a fixed limit";
	if (gr->type == CFG_GRAPH_LINEAR &&
	    (msg = bm_check_len(&gr->num_request_generator, "session_generator.session_graph.num_request_generator",
	                        CFG_MAX_SESSION_REQUESTS, sw, key, ve)))
		return msg;
	if (gr->type == CFG_GRAPH_BRANCHING) {
		static const char *const names[] = {"num_layers_generator", "layer_width_generator",
		                                    "fan_out_generator", "fan_in_generator",
		                                    "connection_dist_generator"};
		const LG *gens[] = {&gr->num_layers_generator, &gr->layer_width_generator, &gr->fan_out_generator,
		                    &gr->fan_in_generator, &gr->connection_dist_generator};
		for (size_t i = 0; i < 5; i++) {
			snprintf(path, sizeof path, "session_generator.session_graph.%s", names[i]);
			if ((msg = bm_check_len(gens[i], path, CFG_MAX_SESSION_REQUESTS, sw, key, ve)))
				return msg;
		}
		const char *f1, *f2;
		int64_t layers = lg_max_value(&gr->num_layers_generator, &f1);
		int64_t width = lg_max_value(&gr->layer_width_generator, &f2);
		if (layers > 0 && width > 0 && layers * width > CFG_MAX_SESSION_REQUESTS) {
			*key = "session_generator.session_graph.num_layers_generator";
			snprintf(
			    ve->msg, sizeof ve->msg,
			    "up to %lld layers of up to %lld requests exceed the limit of %lld requests per session",
			    (long long)layers, (long long)width, (long long)CFG_MAX_SESSION_REQUESTS);
			return ve->msg;
		}
	}
	/* Every prompt of a session is built before its first request: bound the session's text too
	 * (16 prompts of the largest length; ~75 MB of text at the default limit). */
	const char *fr, *fb;
	int64_t reqs = 1;
	if (gr->type == CFG_GRAPH_LINEAR)
		reqs = lg_max_value(&gr->num_request_generator, &fr);
	else if (gr->type == CFG_GRAPH_BRANCHING) {
		int64_t layers = lg_max_value(&gr->num_layers_generator, &fr);
		int64_t width = lg_max_value(&gr->layer_width_generator, &fr);
		reqs = layers < 0 || width < 0 ? -1 : layers * width;
	}
	int64_t body = sg->n_channels ? lg_max_value(&sg->channels[0].body_length_generator, &fb) : 0;
	/* (an unbounded distribution - inverse_gaussian - is clamped where it is drawn instead) */
	if (reqs > 1 && reqs <= CFG_MAX_SESSION_REQUESTS && body > 0 && reqs * body > 16 * lim) {
		*key = "session_generator.channels[0].body_length_generator";
		snprintf(ve->msg, sizeof ve->msg,
		         "sessions of up to %lld requests with prompts of up to %lld tokens can need %lld prompt "
		         "tokens, more than the limit of %lld per session (16 x %s)",
		         (long long)reqs, (long long)body, (long long)(reqs * body), (long long)(16 * lim), why);
		return ve->msg;
	}
	return NULL;
}

static const char *bm_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const BM *b = p;
	if (b->n_evaluators == 0)
		VFAIL("evaluators", "must contain at least one evaluator");
	for (size_t i = 0; i < b->n_evaluators; i++)
		if (b->evaluators[i].type == CFG_EVAL_ACCURACY_LMEVAL &&
		    b->session_generator.type != CFG_SESSION_GEN_LMEVAL)
			VFAIL("evaluators", "the accuracy_lmeval evaluator requires session_generator type lmeval");
	if (!b->output_dir || !b->output_dir[0])
		VFAIL("output_dir", "must not be empty");
	return bm_validate_sizes(b, key, ve);
}
const struct cfg_class cfg_cls_benchmark = {
    .name = "BenchmarkConfig",
    .file_stem = "benchmark_config",
    .size = sizeof(BM),
    .fields = G(bm_fields),
    .from_file = true,
    .defaults = bm_defaults,
    .validate = bm_validate,
    .help = "A benchmark run.",
};

/* ================= capacity search ================= */
#define CS struct cfg_capacity_search
static const struct cfg_field cs_fields[] = {
    {"output_dir", FK_STR, OFF(CS, output_dir), 0, 0, NULL, NULL, 0, "Directory of the search results."},
    {"start_value", FK_FLOAT, OFF(CS, start_value), 0, 0, NULL, NULL, 0, "First load value probed."},
    {"max_value", FK_FLOAT, OFF(CS, max_value), 0, 0, NULL, NULL, 0, "Largest load value probed."},
    {"expansion_factor", FK_FLOAT, OFF(CS, expansion_factor), 0, 0, NULL, NULL, 0,
     "Growth factor of the exponential phase (> 1)."},
    {"max_iterations", FK_INT, OFF(CS, max_iterations), 0, 0, NULL, NULL, 0, "Maximum number of probes."},
    {"precision", FK_INT, OFF(CS, precision), 0, 0, NULL, NULL, 0, "Decimal digits of the search (rate knob)."},
    {"benchmark_config", FK_NESTED, OFF(CS, benchmark_config), 0, 0, &cfg_cls_benchmark, NULL, 0,
     "Benchmark run at each probe."},
};
static void cs_defaults(void *p, int type)
{
	(void)type;
	CS *c = p;
	memset(c, 0, sizeof *c);
	c->output_dir = xstrdup("capacity_search_output");
	c->start_value = 1.0;
	c->max_value = 100.0;
	c->expansion_factor = 2.0;
	c->max_iterations = 20;
	c->precision = 2;
	bm_defaults(&c->benchmark_config, 0);
}
static const char *cs_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const CS *c = p;
	if (c->max_iterations <= 0)
		VFAIL("max_iterations", "must be > 0");
	if (!(c->start_value > 0))
		VFAIL("start_value", "must be > 0");
	if (!(c->expansion_factor > 1))
		VFAIL("expansion_factor", "must be > 1");
	if (!(c->start_value <= c->max_value))
		VFAIL("start_value", "must be <= max_value");
	if (c->precision < 0 || c->precision > 9)
		VFAIL("precision", "must be in [0, 9]");
	if (c->benchmark_config.traffic_scheduler.type == CFG_TRAFFIC_SEQUENTIAL_LAUNCH)
		VFAIL("benchmark_config", "capacity search needs a rate or concurrent traffic scheduler");
	return NULL;
}
const struct cfg_class cfg_cls_capacity = {
    .name = "CapacitySearchConfig",
    .file_stem = "capacity_search_config",
    .size = sizeof(CS),
    .fields = G(cs_fields),
    .from_file = true,
    .defaults = cs_defaults,
    .validate = cs_validate,
    .help = "Capacity search.",
};

/* ================= microbenchmarks ================= */
#define MB struct cfg_microbench
static const char *const traffic_mode_names[] = {"fixed-clients", "fixed-rate", NULL};
static const struct cfg_field mb_base[] = {
    {"model", FK_STR, OFF(MB, model), 0, 0, NULL, NULL, 0, "Model name."},
    {"api_base", FK_STR, OFF(MB, api_base), 0, 0, NULL, NULL, 0, "Server base URL."},
    {"api_key", FK_STR, OFF(MB, api_key), 0, 0, NULL, NULL, FF_SECRET, "API key."},
    {"input_lengths", FK_INT_LIST, OFF(MB, input_lengths), OFF(MB, n_input_lengths), 0, NULL, NULL, 0,
     "Prompt lengths (tokens)."},
    {"samples_per_length", FK_INT, OFF(MB, samples_per_length), 0, 0, NULL, NULL, 0, "Requests per length."},
    {"output_dir", FK_STR, OFF(MB, output_dir), 0, 0, NULL, NULL, 0, "Output directory."},
    {"seed", FK_INT, OFF(MB, seed), 0, 0, NULL, NULL, 0, "Random seed."},
    {"request_timeout", FK_INT, OFF(MB, request_timeout), 0, 0, NULL, NULL, 0, "Per-request timeout (s)."},
    {"benchmark_timeout", FK_INT, OFF(MB, benchmark_timeout), 0, 0, NULL, NULL, 0, "Per-benchmark timeout (s)."},
    {"max_tokens_param", FK_STR, OFF(MB, max_tokens_param), 0, 0, NULL, NULL, 0,
     "Request field carrying the output length."},
    {"ignore_eos", FK_BOOL, OFF(MB, ignore_eos), 0, 0, NULL, NULL, 0, "Ask the server to ignore EOS."},
    {"validate_only", FK_BOOL, OFF(MB, validate_only), 0, 0, NULL, NULL, 0, "Only validate existing results (no run)."},
    {"skip_validation", FK_BOOL, OFF(MB, skip_validation), 0, 0, NULL, NULL, 0, "Skip result validation."},
};
static const struct cfg_field mb_server[] = {
    {"server", FK_POLY, OFF(MB, server), OFF(MB, has_server), 0, &cfg_cls_server, NULL, FF_OPTIONAL | FF_OURS,
     "Managed server (ours; null: external server)."},
};
static const struct cfg_field mb_prefill[] = {
    {"output_tokens", FK_INT, OFF(MB, output_tokens), 0, 0, NULL, NULL, 0, "Output tokens per request."},
};
static const struct cfg_field mb_decode[] = {
    {"batch_sizes", FK_INT_LIST, OFF(MB, batch_sizes), OFF(MB, n_batch_sizes), 0, NULL, NULL, 0,
     "Batch sizes (concurrent requests)."},
    {"engine_chunk_size", FK_INT, OFF(MB, engine_chunk_size), 0, 0, NULL, NULL, 0,
     "Engine chunked-prefill size (tokens)."},
};
static const struct cfg_field mb_stress[] = {
    {"input_length", FK_INT, OFF(MB, input_length), 0, 0, NULL, NULL, 0, "Prompt length (tokens)."},
    {"output_length", FK_INT, OFF(MB, output_length), 0, 0, NULL, NULL, 0, "Output length (tokens)."},
    {"point_duration", FK_INT, OFF(MB, point_duration), 0, 0, NULL, NULL, 0, "Seconds per level."},
    {"warmup_duration", FK_INT, OFF(MB, warmup_duration), 0, 0, NULL, NULL, 0, "Warm-up seconds per level."},
    {"traffic_mode", FK_STR, OFF(MB, traffic_mode), 0, 0, NULL, traffic_mode_names, 0, "fixed-clients or fixed-rate."},
    {"max_tokens_per_second_estimate", FK_FLOAT, OFF(MB, max_tokens_per_second_estimate), 0, 0, NULL, NULL, 0,
     "Estimated peak tokens/s (session budget)."},
};
static const struct cfg_field mb_manual[] = {
    {"concurrency_levels", FK_INT_LIST, OFF(MB, concurrency_levels), OFF(MB, n_concurrency_levels), 0, NULL, NULL, 0,
     "Levels to measure."},
};
static const struct cfg_field mb_range[] = {
    {"concurrency_min", FK_INT, OFF(MB, concurrency_min), 0, 0, NULL, NULL, 0, "Lowest level."},
    {"concurrency_max", FK_INT, OFF(MB, concurrency_max), 0, 0, NULL, NULL, 0, "Highest level."},
    {"concurrency_points", FK_INT, OFF(MB, concurrency_points), 0, 0, NULL, NULL, 0, "Number of log-spaced levels."},
};
static const struct cfg_field mb_auto[] = {
    {"auto_throughput_threshold", FK_FLOAT, OFF(MB, auto_throughput_threshold), 0, 0, NULL, NULL, 0,
     "Stop probing when the relative throughput gain is below this."},
    {"auto_max_probes", FK_INT, OFF(MB, auto_max_probes), 0, 0, NULL, NULL, 0, "Maximum probes."},
    {"auto_fill_points", FK_INT, OFF(MB, auto_fill_points), 0, 0, NULL, NULL, 0, "Levels filled in."},
    {"resume_dir", FK_STR, OFF(MB, resume_dir), 0, 0, NULL, NULL, 0, "Reuse c=N dirs from this run."},
};

static void mb_defaults_common(MB *m)
{
	memset(m, 0, sizeof *m);
	m->model = xstrdup("meta-llama/Meta-Llama-3-8B-Instruct");
	m->api_base = xstrdup("http://localhost:8000/v1");
	m->api_key = xstrdup("dummy");
	m->n_input_lengths = 4;
	m->input_lengths = xmalloc(4 * sizeof(int64_t));
	for (int i = 0; i < 4; i++)
		m->input_lengths[i] = 128 << i;
	m->samples_per_length = 10;
	m->output_dir = xstrdup("microbench_output");
	m->seed = 42;
	m->request_timeout = 120;
	m->benchmark_timeout = 600;
	m->max_tokens_param = xstrdup("max_tokens");
	m->ignore_eos = true;
	m->output_tokens = 1;
	m->n_batch_sizes = 4;
	m->batch_sizes = xmalloc(4 * sizeof(int64_t));
	for (int i = 0; i < 4; i++)
		m->batch_sizes[i] = 1 << i;
	m->engine_chunk_size = 512;
	m->input_length = 512;
	m->output_length = 128;
	m->point_duration = 120;
	m->warmup_duration = 10;
	m->traffic_mode = xstrdup("fixed-clients");
	m->max_tokens_per_second_estimate = 500.0;
	m->n_concurrency_levels = 6;
	m->concurrency_levels = xmalloc(6 * sizeof(int64_t));
	for (int i = 0; i < 6; i++)
		m->concurrency_levels[i] = 1 << i;
	m->concurrency_min = 1;
	m->concurrency_max = 64;
	m->concurrency_points = 8;
	m->auto_throughput_threshold = 0.05;
	m->auto_max_probes = 20;
	m->auto_fill_points = 8;
	m->resume_dir = xstrdup("");
	m->has_server = false;
	sv_defaults(&m->server, CFG_SERVER_VLLM);
}
static void mb_prefill_defaults(void *p, int type)
{
	(void)type;
	mb_defaults_common(p);
	((MB *)p)->type = CFG_MICROBENCH_PREFILL;
}
static void mb_decode_defaults(void *p, int type)
{
	(void)type;
	mb_defaults_common(p);
	((MB *)p)->type = CFG_MICROBENCH_DECODE;
}
static void mb_manual_defaults(void *p, int type)
{
	(void)type;
	mb_defaults_common(p);
	((MB *)p)->type = CFG_MICROBENCH_STRESS;
	((MB *)p)->stress_mode = CFG_STRESS_MANUAL;
}
static void mb_range_defaults(void *p, int type)
{
	mb_manual_defaults(p, type);
	((MB *)p)->stress_mode = CFG_STRESS_RANGE;
}
static void mb_auto_defaults(void *p, int type)
{
	mb_manual_defaults(p, type);
	((MB *)p)->stress_mode = CFG_STRESS_AUTO;
}
static const char *mb_validate(const void *p, int type, const char **key, struct cfg_verr *ve)
{
	(void)type;
	const MB *m = p;
	const char *why;
	if (m->api_base && (why = config_check_api_base(m->api_base)))
		VFAIL("api_base", "%s (got '%.200s')", why, m->api_base);
	if (m->api_key && (why = config_check_api_key(m->api_key)))
		VFAIL("api_key", "%s", why);
	if (m->samples_per_length <= 0)
		VFAIL("samples_per_length", "must be > 0");
	if (m->request_timeout <= 0)
		VFAIL("request_timeout", "must be > 0");
	if (m->type == CFG_MICROBENCH_PREFILL || m->type == CFG_MICROBENCH_DECODE) {
		if (m->n_input_lengths == 0)
			VFAIL("input_lengths", "must not be empty");
		for (size_t i = 0; i < m->n_input_lengths; i++)
			if (m->input_lengths[i] <= 0 || m->input_lengths[i] > CFG_DEFAULT_MAX_REQUEST_TOKENS)
				VFAIL("input_lengths", "all lengths must be > 0 and <= %lld (got %lld)",
				      (long long)CFG_DEFAULT_MAX_REQUEST_TOKENS, (long long)m->input_lengths[i]);
	}
	if (m->type == CFG_MICROBENCH_PREFILL && m->output_tokens <= 0)
		VFAIL("output_tokens", "must be > 0");
	if (m->output_tokens > CFG_DEFAULT_MAX_REQUEST_TOKENS)
		VFAIL("output_tokens", "must be <= %lld", (long long)CFG_DEFAULT_MAX_REQUEST_TOKENS);
	if (m->type == CFG_MICROBENCH_DECODE) {
		if (m->engine_chunk_size <= 0)
			VFAIL("engine_chunk_size", "must be > 0");
		if (m->n_batch_sizes == 0)
			VFAIL("batch_sizes", "must not be empty");
		for (size_t i = 0; i < m->n_batch_sizes; i++)
			if (m->batch_sizes[i] <= 0 || m->batch_sizes[i] >= m->engine_chunk_size)
				VFAIL("batch_sizes", "each batch size must be > 0 and < engine_chunk_size (%lld)",
				      (long long)m->engine_chunk_size);
	}
	if (m->type == CFG_MICROBENCH_STRESS) {
		if (m->input_length <= 0 || m->input_length > CFG_DEFAULT_MAX_REQUEST_TOKENS)
			VFAIL("input_length", "must be > 0 and <= %lld", (long long)CFG_DEFAULT_MAX_REQUEST_TOKENS);
		if (m->output_length <= 0 || m->output_length > CFG_DEFAULT_MAX_REQUEST_TOKENS)
			VFAIL("output_length", "must be > 0 and <= %lld", (long long)CFG_DEFAULT_MAX_REQUEST_TOKENS);
		if (m->warmup_duration < 0)
			VFAIL("warmup_duration", "must be >= 0");
		if (m->point_duration <= m->warmup_duration)
			VFAIL("point_duration", "must be > warmup_duration");
		if (strcmp(m->traffic_mode, "fixed-clients") && strcmp(m->traffic_mode, "fixed-rate"))
			VFAIL("traffic_mode", "must be 'fixed-clients' or 'fixed-rate' (got '%s')", m->traffic_mode);
		if (!(m->max_tokens_per_second_estimate > 0))
			VFAIL("max_tokens_per_second_estimate", "must be > 0");
		if (m->stress_mode == CFG_STRESS_MANUAL) {
			if (m->n_concurrency_levels == 0)
				VFAIL("concurrency_levels", "must not be empty");
			for (size_t i = 0; i < m->n_concurrency_levels; i++)
				if (m->concurrency_levels[i] <= 0)
					VFAIL("concurrency_levels", "all levels must be > 0");
		}
		if (m->stress_mode == CFG_STRESS_RANGE) {
			if (m->concurrency_min <= 0)
				VFAIL("concurrency_min", "must be > 0");
			if (m->concurrency_min >= m->concurrency_max)
				VFAIL("concurrency_min", "must be < concurrency_max");
			if (m->concurrency_points <= 0)
				VFAIL("concurrency_points", "must be > 0");
		}
		if (m->stress_mode == CFG_STRESS_AUTO) {
			if (!(m->auto_throughput_threshold > 0))
				VFAIL("auto_throughput_threshold", "must be > 0");
			if (m->auto_max_probes <= 0)
				VFAIL("auto_max_probes", "must be > 0");
			if (m->auto_fill_points <= 0)
				VFAIL("auto_fill_points", "must be > 0");
		}
	}
	return NULL;
}

static const struct cfg_variant mbv_prefill[] = {{"prefill", {G(mb_base), G(mb_prefill), G(mb_server), G0}}};
static const struct cfg_variant mbv_decode[] = {{"decode", {G(mb_base), G(mb_decode), G(mb_server), G0}}};
static const struct cfg_variant mbv_manual[] = {{"manual", {G(mb_base), G(mb_stress), G(mb_manual), G(mb_server)}}};
static const struct cfg_variant mbv_range[] = {{"range", {G(mb_base), G(mb_stress), G(mb_range), G(mb_server)}}};
static const struct cfg_variant mbv_auto[] = {{"auto", {G(mb_base), G(mb_stress), G(mb_auto), G(mb_server)}}};

const struct cfg_class cfg_cls_mb_prefill = {.name = "PrefillMicrobenchmarkConfig",
                                             .file_stem = "prefill_microbenchmark_config",
                                             .size = sizeof(MB),
                                             .poly = true,
                                             .type_off = (size_t)-1,
                                             .variants = mbv_prefill,
                                             .n_variants = 1,
                                             .from_file = true,
                                             .defaults = mb_prefill_defaults,
                                             .validate = mb_validate,
                                             .help = "Prefill microbenchmark."};
const struct cfg_class cfg_cls_mb_decode = {.name = "DecodeMicrobenchmarkConfig",
                                            .file_stem = "decode_microbenchmark_config",
                                            .size = sizeof(MB),
                                            .poly = true,
                                            .type_off = (size_t)-1,
                                            .variants = mbv_decode,
                                            .n_variants = 1,
                                            .from_file = true,
                                            .defaults = mb_decode_defaults,
                                            .validate = mb_validate,
                                            .help = "Decode microbenchmark."};
const struct cfg_class cfg_cls_mb_manual = {.name = "ManualStressConfig",
                                            .file_stem = "manual_stress_config",
                                            .size = sizeof(MB),
                                            .poly = true,
                                            .type_off = (size_t)-1,
                                            .variants = mbv_manual,
                                            .n_variants = 1,
                                            .from_file = true,
                                            .defaults = mb_manual_defaults,
                                            .validate = mb_validate,
                                            .help = "Stress test, manual levels."};
const struct cfg_class cfg_cls_mb_range = {.name = "RangeStressConfig",
                                           .file_stem = "range_stress_config",
                                           .size = sizeof(MB),
                                           .poly = true,
                                           .type_off = (size_t)-1,
                                           .variants = mbv_range,
                                           .n_variants = 1,
                                           .from_file = true,
                                           .defaults = mb_range_defaults,
                                           .validate = mb_validate,
                                           .help = "Stress test, log-spaced range of levels."};
const struct cfg_class cfg_cls_mb_auto = {.name = "AutoStressConfig",
                                          .file_stem = "auto_stress_config",
                                          .size = sizeof(MB),
                                          .poly = true,
                                          .type_off = (size_t)-1,
                                          .variants = mbv_auto,
                                          .n_variants = 1,
                                          .from_file = true,
                                          .defaults = mb_auto_defaults,
                                          .validate = mb_validate,
                                          .help = "Stress test, automatic levels."};

/* ================= generic helpers ================= */
size_t cfg_class_fields(const struct cfg_class *c, int variant, const struct cfg_field **out, size_t cap)
{
	size_t n = 0;
	if (!c->poly) {
		for (size_t i = 0; i < c->fields.n && n < cap; i++)
			out[n++] = &c->fields.f[i];
		return n;
	}
	if (variant < 0 || (size_t)variant >= c->n_variants)
		return 0;
	const struct cfg_variant *v = &c->variants[variant];
	for (int g = 0; g < 4; g++)
		for (size_t i = 0; i < v->g[g].n && n < cap; i++)
			out[n++] = &v->g[g].f[i];
	return n;
}

const struct cfg_field *cfg_class_find(const struct cfg_class *c, int variant, const char *name)
{
	const struct cfg_field *fs[64];
	size_t n = cfg_class_fields(c, variant, fs, 64);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fs[i]->name, name))
			return fs[i];
	return NULL;
}

int cfg_class_variant(const struct cfg_class *c, const char *name)
{
	for (size_t i = 0; i < c->n_variants; i++)
		if (!strcasecmp(c->variants[i].name, name))
			return (int)i;
	return -1;
}

int cfg_class_type(const struct cfg_class *c, const void *p)
{
	if (!c->poly || c->type_off == (size_t)-1)
		return 0;
	return *(const int *)((const char *)p + c->type_off);
}

char *cfg_nested_enter(const struct cfg_field *f, char *base)
{
	bool *present = (f->flags & FF_OPTIONAL) ? (bool *)(base + f->off2) : NULL;
	if (present && !*present) {
		f->cls->defaults(base + f->off, 0);
		*present = true;
	}
	return base + f->off;
}

static void obj_free_fields(const struct cfg_class *c, char *p);

static void field_free(const struct cfg_field *f, char *base)
{
	switch (f->kind) {
	case FK_STR:
	case FK_JSON: {
		char **s = (char **)(base + f->off);
		free(*s);
		*s = NULL;
		break;
	}
	case FK_INT_LIST:
	case FK_CHAN_LIST: {
		void **v = (void **)(base + f->off);
		free(*v);
		*v = NULL;
		*(size_t *)(base + f->off2) = 0;
		break;
	}
	case FK_STR_LIST: {
		char ***v = (char ***)(base + f->off);
		size_t *n = (size_t *)(base + f->off2);
		for (size_t i = 0; i < *n; i++)
			free((*v)[i]);
		free(*v);
		*v = NULL;
		*n = 0;
		break;
	}
	case FK_NESTED:
		obj_free_fields(f->cls, base + f->off);
		break;
	case FK_POLY:
		cfg_obj_free(f->cls, base + f->off);
		break;
	case FK_POLY_LIST: {
		char **v = (char **)(base + f->off);
		size_t *n = (size_t *)(base + f->off2);
		for (size_t i = 0; i < *n; i++)
			cfg_obj_free(f->cls, *v + i * f->cls->size);
		free(*v);
		*v = NULL;
		*n = 0;
		break;
	}
	default:
		break;
	}
}

static void obj_free_fields(const struct cfg_class *c, char *p)
{
	const struct cfg_field *fs[64];
	if (!c->poly) {
		size_t n = cfg_class_fields(c, 0, fs, 64);
		for (size_t i = 0; i < n; i++)
			field_free(fs[i], p);
		return;
	}
	for (size_t v = 0; v < c->n_variants; v++) {
		size_t n = cfg_class_fields(c, (int)v, fs, 64);
		for (size_t i = 0; i < n; i++)
			field_free(fs[i], p);
	}
}

static bool is_mb_root(const struct cfg_class *c)
{
	return c == &cfg_cls_mb_prefill || c == &cfg_cls_mb_decode || c == &cfg_cls_mb_manual ||
	       c == &cfg_cls_mb_range || c == &cfg_cls_mb_auto;
}

void cfg_obj_free(const struct cfg_class *c, void *p)
{
	if (is_mb_root(c)) {
		/* the microbench classes share one struct but cover different fields: free them all
		 * (freeing NULLs each pointer, so nothing is freed twice) */
		obj_free_fields(&cfg_cls_mb_prefill, p);
		obj_free_fields(&cfg_cls_mb_decode, p);
		obj_free_fields(&cfg_cls_mb_manual, p);
		obj_free_fields(&cfg_cls_mb_range, p);
		obj_free_fields(&cfg_cls_mb_auto, p);
		return;
	}
	obj_free_fields(c, p);
}

static void obj_copy_fields(const struct cfg_class *c, char *dst, const char *src);

static void field_copy(const struct cfg_field *f, char *dst, const char *src)
{
	switch (f->kind) {
	case FK_STR:
	case FK_JSON: {
		char **d = (char **)(dst + f->off);
		char *const *s = (char *const *)(src + f->off);
		if (*d == *s)
			*d = xstrdup(*s);
		break;
	}
	case FK_INT_LIST:
	case FK_CHAN_LIST: {
		void **d = (void **)(dst + f->off);
		void *const *s = (void *const *)(src + f->off);
		size_t n = *(const size_t *)(src + f->off2);
		size_t el = f->kind == FK_INT_LIST ? sizeof(int64_t) : sizeof(enum cfg_channel_type);
		if (*d == *s && *s) {
			*d = xmalloc(n * el + 1);
			memcpy(*d, *s, n * el);
		}
		break;
	}
	case FK_STR_LIST: {
		char ***d = (char ***)(dst + f->off);
		char **const *s = (char **const *)(src + f->off);
		size_t n = *(const size_t *)(src + f->off2);
		if (*d == *s && *s) {
			*d = xcalloc(n + 1, sizeof(char *));
			for (size_t i = 0; i < n; i++)
				(*d)[i] = xstrdup((*s)[i]);
		}
		break;
	}
	case FK_NESTED:
		obj_copy_fields(f->cls, dst + f->off, src + f->off);
		break;
	case FK_POLY:
		obj_copy_fields(f->cls, dst + f->off, src + f->off);
		break;
	case FK_POLY_LIST: {
		char **d = (char **)(dst + f->off);
		char *const *s = (char *const *)(src + f->off);
		size_t n = *(const size_t *)(src + f->off2);
		if (*d == *s && *s) {
			size_t sz = f->cls->size;
			*d = xcalloc(n + 1, sz);
			memcpy(*d, *s, n * sz);
			for (size_t i = 0; i < n; i++)
				obj_copy_fields(f->cls, *d + i * sz, *s + i * sz);
		}
		break;
	}
	default:
		break;
	}
}

static void obj_copy_fields(const struct cfg_class *c, char *dst, const char *src)
{
	const struct cfg_field *fs[64];
	size_t nv = c->poly ? c->n_variants : 1;
	for (size_t v = 0; v < nv; v++) {
		size_t n = cfg_class_fields(c, (int)v, fs, 64);
		for (size_t i = 0; i < n; i++)
			field_copy(fs[i], dst, src);
	}
}

void cfg_obj_copy(const struct cfg_class *c, void *dst, const void *src)
{
	memcpy(dst, src, c->size);
	obj_copy_fields(c, dst, src);
}

void cfg_obj_reset(const struct cfg_class *c, void *p, int type)
{
	cfg_obj_free(c, p);
	c->defaults(p, type);
}

/* ================= public helpers ================= */
void config_benchmark_defaults(struct cfg_benchmark *c)
{
	bm_defaults(c, 0);
}

void config_server_defaults(struct cfg_server *s, enum cfg_server_type type)
{
	sv_defaults(s, type);
}

void config_benchmark_copy(struct cfg_benchmark *dst, const struct cfg_benchmark *src)
{
	cfg_obj_copy(&cfg_cls_benchmark, dst, src);
}

void config_benchmark_free(struct cfg_benchmark *c)
{
	if (c)
		cfg_obj_free(&cfg_cls_benchmark, c);
}

const char *config_traffic_type_name(enum cfg_traffic_type t)
{
	return (unsigned)t < 3 ? tr_variants[t].name : "?";
}

const char *config_server_type_name(enum cfg_server_type t)
{
	return (unsigned)t < 4 ? sv_variants[t].name : "?";
}

const char *config_client_type_name(enum cfg_client_type t)
{
	return (unsigned)t < 3 ? cl_variants[t].name : "?";
}

const char *config_slo_metric_name(enum cfg_slo_metric m)
{
	return (unsigned)m < 4 ? slo_metric_names[m] : "?";
}
