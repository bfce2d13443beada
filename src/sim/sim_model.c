/* GPU and model tables, presets and the roofline step-time model of the simulated engine
 * (docs/SIM.md). */
#include <ctype.h>
#include <string.h>

#include "sim/sim.h"

#define SIM_GIB (1024.0 * 1024.0 * 1024.0)

static const struct sim_gpu sim_gpus[] = {
    {"H100", 80 * SIM_GIB, 3.35e12, 989e12},
    {"H200", 141 * SIM_GIB, 4.8e12, 989e12},
    {"A100", 80 * SIM_GIB, 2.0e12, 312e12},
    {"L40S", 48 * SIM_GIB, 0.864e12, 362e12},
};

static const struct sim_arch sim_archs[] = {
    {"llama3.2-1b", "meta-llama/Llama-3.2-1B-Instruct", 1.24e9, 16, 2048, 32, 8, 64, 128256},
    {"llama3-8b", "meta-llama/Meta-Llama-3-8B-Instruct", 8.03e9, 32, 4096, 32, 8, 128, 128256},
    {"llama3-70b", "meta-llama/Meta-Llama-3-70B-Instruct", 70.6e9, 80, 8192, 64, 8, 128, 128256},
    {"qwen2.5-7b", "Qwen/Qwen2.5-7B-Instruct", 7.6e9, 28, 3584, 28, 4, 128, 152064},
    {"qwen3-32b", "Qwen/Qwen3-32B", 32.8e9, 64, 5120, 64, 8, 128, 151936},
};

static const struct sim_preset sim_presets[] = {
    {"llama3-8b-h100", "llama3-8b", "H100", 1, 8192},       {"llama3-8b-a100", "llama3-8b", "A100", 1, 8192},
    {"llama3-8b-h200", "llama3-8b", "H200", 1, 8192},       {"llama3-70b-h100-tp4", "llama3-70b", "H100", 4, 8192},
    {"llama3-70b-h200-tp2", "llama3-70b", "H200", 2, 8192}, {"llama3.2-1b-l40s", "llama3.2-1b", "L40S", 1, 8192},
    {"qwen2.5-7b-h100", "qwen2.5-7b", "H100", 1, 32768},    {"qwen3-32b-h100-tp2", "qwen3-32b", "H100", 2, 32768},
};

#define SIM_NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool sim_model_name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return false;
	return *a == *b;
}

const struct sim_gpu *sim_gpu_find(const char *name)
{
	for (size_t i = 0; i < SIM_NELEM(sim_gpus); i++)
		if (sim_model_name_eq(sim_gpus[i].name, name))
			return &sim_gpus[i];
	return NULL;
}

const struct sim_arch *sim_arch_find(const char *name)
{
	for (size_t i = 0; i < SIM_NELEM(sim_archs); i++)
		if (sim_model_name_eq(sim_archs[i].name, name))
			return &sim_archs[i];
	return NULL;
}

const struct sim_preset *sim_preset_find(const char *name)
{
	for (size_t i = 0; i < SIM_NELEM(sim_presets); i++)
		if (sim_model_name_eq(sim_presets[i].name, name))
			return &sim_presets[i];
	return NULL;
}

size_t sim_gpu_count(void)
{
	return SIM_NELEM(sim_gpus);
}
const struct sim_gpu *sim_gpu_at(size_t i)
{
	return i < SIM_NELEM(sim_gpus) ? &sim_gpus[i] : NULL;
}
size_t sim_arch_count(void)
{
	return SIM_NELEM(sim_archs);
}
const struct sim_arch *sim_arch_at(size_t i)
{
	return i < SIM_NELEM(sim_archs) ? &sim_archs[i] : NULL;
}
size_t sim_preset_count(void)
{
	return SIM_NELEM(sim_presets);
}
const struct sim_preset *sim_preset_at(size_t i)
{
	return i < SIM_NELEM(sim_presets) ? &sim_presets[i] : NULL;
}

/* lower-case, keep only [a-z0-9.] */
static void sim_model_squash(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (; *in && n + 1 < cap; in++) {
		char c = (char)tolower((unsigned char)*in);
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.')
			out[n++] = c;
	}
	out[n] = 0;
}

const struct sim_arch *sim_arch_from_model_id(const char *model_id)
{
	if (!model_id)
		return NULL;
	const struct sim_arch *a = sim_arch_find(model_id);
	if (a)
		return a;
	const char *base = strrchr(model_id, '/');
	base = base ? base + 1 : model_id;
	char s[256];
	sim_model_squash(base, s, sizeof s);
	/* patterns checked in order: more specific first */
	static const struct {
		const char *needle;
		const char *arch;
	} pats[] = {
	    {"llama3.21b", "llama3.2-1b"}, {"llama3.2-1b", "llama3.2-1b"}, {"llama370b", "llama3-70b"},
	    {"llama3.170b", "llama3-70b"}, {"llama3.370b", "llama3-70b"},  {"metallama370b", "llama3-70b"},
	    {"llama38b", "llama3-8b"},     {"llama3.18b", "llama3-8b"},    {"metallama38b", "llama3-8b"},
	    {"qwen2.57b", "qwen2.5-7b"},   {"qwen332b", "qwen3-32b"},
	};
	for (size_t i = 0; i < SIM_NELEM(pats); i++)
		if (strstr(s, pats[i].needle))
			return sim_arch_find(pats[i].arch);
	return NULL;
}

void sim_engine_params_default(struct sim_engine_params *p, const struct sim_arch *arch, const struct sim_gpu *gpu,
                               int tp)
{
	memset(p, 0, sizeof *p);
	p->arch = *arch;
	p->gpu = *gpu;
	p->tp = tp > 0 ? tp : 1;
	p->dtype_bytes = 2;
	p->max_num_seqs = 256;
	p->max_num_batched_tokens = 8192;
	p->block_size_tokens = 16;
	p->gpu_memory_utilization = 0.9;
	p->mfu = 0.5;
	p->mbu = 0.8;
	p->overhead_s = 1.5e-3;
	p->allreduce_per_layer_s = 10e-6;
	p->kv_capacity_tokens = 0;
}

double sim_kv_bytes_per_token(const struct sim_engine_params *p)
{
	return 2.0 * p->arch.n_layers * p->arch.n_kv_heads * p->arch.head_dim * p->dtype_bytes;
}

double sim_weight_bytes(const struct sim_engine_params *p)
{
	return p->arch.n_params * p->dtype_bytes;
}

int64_t sim_kv_capacity_tokens(const struct sim_engine_params *p)
{
	int64_t bs = p->block_size_tokens > 0 ? p->block_size_tokens : 16;
	if (p->kv_capacity_tokens > 0)
		return p->kv_capacity_tokens / bs * bs;
	double free_bytes = p->tp * p->gpu.mem_bytes * p->gpu_memory_utilization - sim_weight_bytes(p);
	if (free_bytes <= 0)
		return 0;
	int64_t tokens = (int64_t)(free_bytes / sim_kv_bytes_per_token(p));
	return tokens / bs * bs;
}

double sim_step_time_s(const struct sim_engine_params *p, int64_t prefill_tokens, double prefill_ctx_sum,
                       int64_t decode_seqs, double decode_ctx_sum)
{
	if (prefill_tokens <= 0 && decode_seqs <= 0)
		return 0;
	double tp = p->tp;
	double flops = 2.0 * p->arch.n_params * (double)(prefill_tokens + decode_seqs) +
	               4.0 * p->arch.n_layers * p->arch.d_model * prefill_ctx_sum;
	double t_compute = flops / (tp * p->gpu.flops * p->mfu);
	double kv_read = sim_kv_bytes_per_token(p) * decode_ctx_sum;
	double t_memory = (sim_weight_bytes(p) / tp + kv_read / tp) / (p->gpu.hbm_bps * p->mbu);
	double t = t_compute > t_memory ? t_compute : t_memory;
	t += p->overhead_s;
	if (p->tp > 1)
		t += 2.0 * p->arch.n_layers * p->allreduce_per_layer_s;
	return t;
}
