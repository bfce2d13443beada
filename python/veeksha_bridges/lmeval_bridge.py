"""Veeksha's bridge to lm-evaluation-harness (protocol 1; docs/INTEGRATIONS.md).

Veeksha runs this file as `<session_generator.env_path>/bin/python -u lmeval_bridge.py` and
talks to it in JSON lines: one JSON object per line on stdin (Veeksha -> bridge) and on stdout
(bridge -> Veeksha). Everything else the libraries print goes to stderr.

    bridge  -> {"type": "hello", "protocol": 1, "bridge": "lmeval", "lm_eval_version": "..."}
    veeksha -> {"type": "load", "protocol": 1, "tasks": [...], "num_fewshot": N,
                "max_sessions": M, "seed": S}
    bridge  -> {"type": "doc", "doc": K, "task": "...", "doc_id": D, "requests": [
                   {"kind": "generate_until", "api_mode": "chat", "prompt": "...",
                    "sampling_params": {...}, "target_output_tokens": T}
                 | {"kind": "loglikelihood", "api_mode": "completions", "prompt": "...",
                    "context_bytes": B, "sampling_params": {...}, "target_output_tokens": 1}]}
               ... one per document, then {"type": "docs_end", "count": N}
    veeksha -> {"type": "response", "doc": K, "req": I, "ok": true, "text": "...",
                "body": {...} | null, "context_tokens": C}      (or "ok": false, "error": "...")
               ... then {"type": "score", "bootstrap_iters": B}
    bridge  -> {"type": "results", "results": {...}, "text": "<the results as indented JSON>"}
    veeksha -> {"type": "bye"}

Any failure is one {"type": "error", "kind": ..., "message": ...} line and exit status 3; a
missing package is kind "missing_package" with the module that could not be imported.

Written against lm_eval 0.4.11's public API (lm_eval.tasks.TaskManager and get_task_dict,
lm_eval.evaluator_utils.get_task_list / consolidate_results / consolidate_group_results /
prepare_print_tasks / get_subtask_list, Task.build_all_requests / doc_iterator / apply_filters /
process_results, TaskOutput.calculate_aggregate_metric); lm_eval 0.4.12 removed the
evaluator_utils functions, which the hello check below reports as a missing import.
"""

import json
import math
import os
import random
import sys
from collections import defaultdict

# the shared protocol module sits beside this file (build tree and install alike); no .pyc is
# written next to it (the source tree, or a read-only install)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from veeksha_protocol import PROTOCOL, claim_stdout, fail, hello, json_safe, read, run, send  # noqa: E402


def _adjust(task_dict, num_fewshot, rng):
    """The reference's few-shot handling: num_fewshot everywhere except where a task's own
    config forces 0; every task gets its own few-shot seed from the run's seed."""
    for name, task in task_dict.items():
        if isinstance(task, dict):
            _adjust(task, num_fewshot, rng)
            continue
        if task.get_config("num_fewshot") != 0:
            task.set_config(key="num_fewshot", value=num_fewshot)
        task.set_fewshot_seed(seed=rng.randint(0, 2**32 - 1))


def _requests_of(instances, task_name):
    out = []
    for inst in instances:
        for _ in range(int(getattr(inst, "repeats", 1) or 1)):
            if inst.request_type == "generate_until":
                context, gen_kwargs = inst.args[0], inst.args[1]
                mgt = gen_kwargs.get("max_gen_toks")
                out.append((inst, {
                    "kind": "generate_until",
                    "api_mode": "chat",
                    "prompt": context,
                    "sampling_params": dict(gen_kwargs),
                    "target_output_tokens": int(mgt) if isinstance(mgt, int) else 0,
                }))
            elif inst.request_type == "loglikelihood":
                context, target = inst.args[0], inst.args[1]
                # lm-eval's token boundary: trailing spaces of the context belong to the target
                n_spaces = len(context) - len(context.rstrip())
                if n_spaces > 0:
                    target = context[-n_spaces:] + target
                    context = context[:-n_spaces]
                out.append((inst, {
                    "kind": "loglikelihood",
                    "api_mode": "completions",
                    "prompt": context + target,
                    "context_bytes": len(context.encode("utf-8")),
                    "context_chars": len(context),
                    "sampling_params": {"stream": False, "echo": True, "logprobs": 1,
                                        "temperature": 0, "max_tokens": 1},
                    "target_output_tokens": 1,
                }))
            else:
                fail("unsupported", "task %s uses lm-eval request type %s, which Veeksha does not send "
                     "(generate_until and loglikelihood only)" % (task_name, inst.request_type))
    return out


def _parse_logprobs(body, context_tokens, context_chars):
    """(sum of the continuation's logprobs, whether it was the greedy choice) from an
    OpenAI-compatible completions response with echo and logprobs."""
    try:
        lp = body["choices"][0]["logprobs"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("the response has no choices[0].logprobs")
    if not isinstance(lp, dict):
        raise ValueError("choices[0].logprobs is %r, not an object" % (lp,))
    if "token_logprobs" in lp and "top_logprobs" in lp:
        ctx = context_tokens
        offsets = lp.get("text_offset")
        if isinstance(offsets, list) and offsets and context_chars is not None:
            ctx = sum(1 for o in offsets if o < context_chars)
        if ctx is None:
            raise ValueError("no context length for the logprobs")
        toks = lp["token_logprobs"][ctx:-1]
        tops = lp["top_logprobs"][ctx:-1]
        greedy = True
        for tok_lp, top in zip(toks, tops):
            if not isinstance(top, dict) or not top or tok_lp < max(top.values()) - 1e-8:
                greedy = False
                break
        return (float(sum(toks)), greedy)
    entries = lp.get("content")
    if isinstance(entries, list):
        entries = entries[context_tokens or 0:]
        vals, greedies = [], []
        for e in entries:
            v = e.get("logprob")
            if v is None:
                continue
            vals.append(v)
            top = [t.get("logprob", float("-inf")) for t in (e.get("top_logprobs") or [])]
            greedies.append(bool(top) and v >= max(top))
        return (float(sum(vals)), bool(greedies) and all(greedies))
    raise ValueError("unsupported logprobs layout (keys %s)" % sorted(lp.keys()))


def main():
    claim_stdout()
    try:
        import lm_eval
        from lm_eval.evaluator_utils import (consolidate_group_results, consolidate_results,
                                             get_subtask_list, get_task_list, prepare_print_tasks)
        from lm_eval.tasks import TaskManager, get_task_dict
    except ImportError as e:
        fail("missing_package", str(e), module=getattr(e, "name", None) or "lm_eval",
             hint="install lm-eval 0.4.11 there (bin/python -m pip install 'lm-eval==0.4.11')")
    hello("lmeval", "lm_eval_version", getattr(lm_eval, "__version__", "unknown"))

    msg = read()
    if msg.get("type") != "load" or msg.get("protocol") != PROTOCOL:
        fail("protocol", "expected a load message of protocol %d, got %r" % (PROTOCOL, msg.get("type")))
    tasks = list(msg["tasks"])
    max_sessions = int(msg["max_sessions"])
    rng = random.Random(int(msg.get("seed", 0)))
    try:
        task_dict = get_task_dict(tasks, TaskManager())
    except Exception as e:  # an unknown task name, a data set that cannot be loaded
        fail("tasks", "cannot load the tasks %s: %s" % (", ".join(tasks), e))
    if not task_dict:
        fail("tasks", "lm_eval resolved none of the tasks %s" % ", ".join(tasks))
    _adjust(task_dict, int(msg["num_fewshot"]), rng)
    eval_tasks = [to for to in get_task_list(task_dict) if to.task is not None]  # (groups carry no task)

    # per-task prefixes, round-robin across tasks, cut at max_sessions (as the reference)
    n_tasks = max(1, len(eval_tasks))
    per_task = None if max_sessions < 0 else int(math.ceil(max_sessions / n_tasks))
    order, by_doc = {}, {}
    for to in eval_tasks:
        name = str(to.task_name)
        if per_task == 0:
            order[name] = []
            continue
        to.task.build_all_requests(limit=per_task)
        groups = defaultdict(list)
        for inst in to.task.instances:
            groups[inst.doc_id].append(inst)
        for insts in groups.values():
            insts.sort(key=lambda i: i.idx)
        by_doc[name] = groups
        order[name] = [doc_id for doc_id, _ in to.task.doc_iterator(limit=per_task)]
    keys = []
    for i in range(max((len(v) for v in order.values()), default=0)):
        for to in eval_tasks:
            ids = order[str(to.task_name)]
            if i < len(ids):
                keys.append((str(to.task_name), ids[i]))
    if max_sessions >= 0:
        keys = keys[:max_sessions]

    docs = []  # per document: (task, doc_id, [(instance, request)])
    for k, (name, doc_id) in enumerate(keys):
        reqs = _requests_of(by_doc[name].get(doc_id, []), name)
        docs.append((name, doc_id, reqs))
        send({"type": "doc", "doc": k, "task": name, "doc_id": doc_id,
              "requests": [r for _, r in reqs]})
    send({"type": "docs_end", "count": len(docs)})

    # responses, then the score request
    answers = defaultdict(dict)
    while True:
        msg = read()
        t = msg.get("type")
        if t == "response":
            answers[int(msg["doc"])][int(msg["req"])] = msg
        elif t == "score":
            break
        else:
            fail("protocol", "unexpected message %r while waiting for responses" % t)
    bootstrap_iters = int(msg.get("bootstrap_iters", 100000))

    scored = defaultdict(set)
    failed = defaultdict(int)
    for k, (name, doc_id, reqs) in enumerate(docs):
        got = answers.get(k, {})
        values = []
        for i, (inst, r) in enumerate(reqs):
            a = got.get(i)
            if not a or not a.get("ok"):
                values = None
                break
            if r["kind"] == "generate_until":
                values.append(a.get("text") or "")
            else:
                try:
                    values.append(_parse_logprobs(a.get("body"), a.get("context_tokens"),
                                                  r.get("context_chars")))
                except ValueError as e:
                    sys.stderr.write("lmeval bridge: document %d of %s: %s\n" % (k, name, e))
                    values = None
                    break
        for inst, _ in reqs:
            inst.resps.clear()
        if values is None:
            failed[name] += 1
            # a placeholder keeps the task's filters working; the document is not scored
            for inst, r in reqs:
                inst.resps.append("" if r["kind"] == "generate_until" else (float("-inf"), False))
            continue
        for (inst, _), v in zip(reqs, values):
            inst.resps.append(v)
        scored[name].add(doc_id)

    limits = {name: len(order[name]) for name in order}
    for to in eval_tasks:
        to.sample_metrics.clear()
        to.agg_metrics.clear()
        name = str(to.task_name)
        task = to.task
        if not scored[name]:
            continue
        # documents the run never reached keep empty responses: give them the placeholder too
        for inst in task.instances:
            if not inst.resps:
                inst.resps.append("" if inst.request_type == "generate_until" else (float("-inf"), False))
        task.apply_filters()
        groups = by_doc[name]
        for filter_key in task.instances[0].filtered_resps.keys():
            for doc_id, doc in task.doc_iterator(limit=limits[name]):
                if doc_id not in scored[name]:
                    continue
                metrics = task.process_results(doc, [i.filtered_resps[filter_key] for i in groups[doc_id]])
                for metric, value in metrics.items():
                    to.sample_metrics[(metric, filter_key)].append(value)
        to.calculate_aggregate_metric(bootstrap_iters=bootstrap_iters)

    results, _samples, configs, versions, num_fewshot, higher_is_better = consolidate_results(eval_tasks)
    show_group_table = False
    if results:
        results, versions, show_group_table, *_ = consolidate_group_results(results, versions, task_dict)
    results_agg, group_agg = prepare_print_tasks(task_dict, results)
    subtask_list = get_subtask_list(task_dict)
    for group, task_list in subtask_list.items():
        merged = {}
        for task_name in task_list:
            for metric, hib in higher_is_better.get(task_name, {}).items():
                if metric not in merged:
                    merged[metric] = hib
                elif merged[metric] is not None and merged[metric] != hib:
                    merged[metric] = None
        if task_list:
            higher_is_better[group] = merged
    out = {"results": dict(results_agg.items())}
    if group_agg and show_group_table:
        out["groups"] = dict(group_agg.items())
    out.update({
        "group_subtasks": dict(reversed(list(subtask_list.items()))),
        "configs": dict(sorted(configs.items())),
        "versions": dict(sorted(versions.items())),
        "n-shot": dict(sorted(num_fewshot.items())),
        "higher_is_better": dict(sorted(higher_is_better.items())),
        "n-samples": {str(to.task_name): {"original": len(to.task.eval_docs),
                                          "effective": len(scored[str(to.task_name)])}
                      for to in eval_tasks},
        # ours: what the run could score (documents whose every request was answered)
        "veeksha": {"protocol": PROTOCOL, "lm_eval_version": str(getattr(lm_eval, "__version__", "unknown")),
                    "documents": len(docs),
                    "scored_documents": sum(len(v) for v in scored.values()),
                    "unscored_documents": dict(failed)},
    })
    out = json_safe(out)
    send({"type": "results", "results": out, "text": json.dumps(out, indent=2)})
    read()  # bye (or EOF)


if __name__ == "__main__":
    run(main)
