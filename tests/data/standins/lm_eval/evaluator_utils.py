"""Stand-in lm_eval.evaluator_utils: TaskOutput and the consolidation functions the bridge calls,
with lm_eval 0.4.11's signatures and return shapes (no groups)."""
import collections
import math


class TaskOutput:
    def __init__(self, task=None, task_name=None, task_config=None, version=None, n_shot=None):
        self.task = task
        self.task_name = task_name
        self.task_config = task_config
        self.version = version
        self.n_shot = n_shot
        self.logged_samples = []
        self.sample_len = None
        self.sample_metrics = collections.defaultdict(list)
        self.agg_metrics = collections.defaultdict(list)

    def calculate_aggregate_metric(self, bootstrap_iters=100000):
        if not isinstance(bootstrap_iters, int):
            raise ValueError("bootstrap_iters must be an integer")
        for (metric, filter_key), items in self.sample_metrics.items():
            agg = self.task.aggregation()[metric]
            self.agg_metrics["%s,%s" % (metric, filter_key)] = agg(items)
            self.sample_len = len(items)
            if len(items) > 1 and bootstrap_iters > 0:
                m = sum(items) / len(items)
                sd = math.sqrt(sum((x - m) ** 2 for x in items) / (len(items) - 1))
                self.agg_metrics["%s_stderr,%s" % (metric, filter_key)] = sd / math.sqrt(len(items))
            else:
                self.agg_metrics["%s_stderr,%s" % (metric, filter_key)] = "N/A"


def get_task_list(task_dict):
    out = []
    for name, task in task_dict.items():
        cfg = task.dump_config()
        out.append(TaskOutput(task=task, task_name=name, task_config=cfg, version=task.VERSION,
                              n_shot=cfg.get("num_fewshot") or 0))
    return out


def get_subtask_list(task_dict, task_root=None, depth=0):
    return {}


def consolidate_results(eval_tasks):
    results = collections.defaultdict(dict)
    samples = collections.defaultdict(list)
    configs = collections.defaultdict(dict)
    versions = collections.defaultdict(dict)
    num_fewshot = collections.defaultdict(int)
    higher_is_better = collections.defaultdict(dict)
    for t in eval_tasks:
        results[t.task_name]["alias"] = t.task_name
        versions[t.task_name] = t.version
        configs[t.task_name] = t.task_config
        num_fewshot[t.task_name] = t.n_shot
        samples[t.task_name] = t.logged_samples
        higher_is_better[t.task_name] = t.task.higher_is_better()
        for (metric, filter_key), items in t.sample_metrics.items():
            key = "%s,%s" % (metric, filter_key)
            results[t.task_name][key] = t.agg_metrics[key]
            results[t.task_name]["samples"] = t.sample_len
            results[t.task_name]["%s_stderr,%s" % (metric, filter_key)] = t.agg_metrics["%s_stderr,%s" % (metric, filter_key)]
    return results, samples, configs, versions, num_fewshot, higher_is_better


def consolidate_group_results(results, versions, task_dict, task_root=None, show_group_table=False,
                              task_aggregation_list=None):
    return results, versions, show_group_table, task_aggregation_list


def prepare_print_tasks(task_dict, results, task_depth=0, group_depth=0):
    task_agg = collections.defaultdict(dict)
    for name in task_dict:
        task_agg[name] = dict(results.get(name, {}))
    return task_agg, collections.defaultdict(dict)
