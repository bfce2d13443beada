"""Stand-in wandb for Veeksha's bridge tests (see ../README.md): records what the bridge logs in
<dir>/wandb/standin-run.json at finish()."""
import json
import os

__version__ = "0.21.0+standin"


class Artifact:
    def __init__(self, name, type, description=None, metadata=None, incremental=False, use_as=None):
        self.name = name
        self.type = type
        self.files = []

    def add_file(self, local_path, name=None, is_tmp=False, skip_cache=False, policy="mutable", overwrite=False):
        if not os.path.isfile(local_path):
            raise ValueError("Path is not a file: %s" % local_path)
        self.files.append(name or os.path.basename(local_path))


class Table:
    def __init__(self, columns=None, data=None, rows=None, dataframe=None, dtype=None, optional=True,
                 allow_mixed_types=False, log_mode=None):
        if data is not None and any(len(r) != len(columns) for r in data):
            raise ValueError("This table expects %d columns: %r" % (len(columns), columns))
        self.columns = list(columns or [])
        self.data = [list(r) for r in (data or [])]


class _Summary(dict):
    pass


class Run:
    def __init__(self, kwargs):
        self._kw = kwargs
        self.id = "standin01"
        self.name = kwargs.get("name")
        self.entity = kwargs.get("entity") or "standin-entity"
        self.project = kwargs.get("project") or "uncategorized"
        self.group = kwargs.get("group")
        self.path = "%s/%s/%s" % (self.entity, self.project, self.id)
        offline = kwargs.get("mode") == "offline"
        self.url = None if offline else "https://wandb.invalid/%s" % self.path
        self.summary = _Summary()
        self._steps = []
        self._artifacts = []
        self._tables = {}

    def log(self, data, step=None, commit=None):
        if os.environ.get("STANDIN_WANDB_FAIL") == "crash":
            os._exit(9)  # the bridge dies in the middle of logging
        if self._steps and step is not None and step <= self._steps[-1]:
            raise ValueError("steps must increase")
        self._steps.append(step)
        for k, v in data.items():
            if isinstance(v, Table):
                self._tables[k] = {"columns": v.columns, "data": v.data}

    def log_artifact(self, artifact_or_path, name=None, type=None, aliases=None, tags=None):
        self._artifacts.append({"name": artifact_or_path.name, "type": artifact_or_path.type,
                                "files": artifact_or_path.files})

    def finish(self, exit_code=None, quiet=None):
        d = os.path.join(self._kw["dir"], "wandb")
        os.makedirs(d, exist_ok=True)
        kw = dict(self._kw)
        kw["config_keys"] = sorted((kw.pop("config") or {}).keys())
        kw["api_key_redacted"] = (self._kw.get("config") or {}).get("client", {}).get("api_key") in (None, "<redacted>")
        with open(os.path.join(d, "standin-run.json"), "w") as f:
            json.dump({"init": kw, "steps": len(self._steps), "summary": dict(self.summary),
                       "artifacts": self._artifacts, "tables": self._tables}, f, indent=1)


def init(entity=None, project=None, dir=None, id=None, name=None, notes=None, tags=None, config=None,
         config_exclude_keys=None, config_include_keys=None, allow_val_change=None, group=None, job_type=None,
         mode=None, force=None, anonymous=None, reinit=None, resume=None, resume_from=None, fork_from=None,
         save_code=None, tensorboard=None, sync_tensorboard=None, monitor_gym=None, settings=None):
    if os.environ.get("STANDIN_WANDB_FAIL") == "init":
        raise RuntimeError("stand-in wandb: init failed (STANDIN_WANDB_FAIL=init)")
    print("wandb: stand-in run starting")  # wandb prints its banner on stdout
    os.write(1, b"wandb: native chatter on fd 1\n")
    if mode not in (None, "online", "offline", "disabled"):
        raise ValueError("mode must be online, offline or disabled, not %r" % (mode,))
    return Run({"entity": entity, "project": project, "dir": dir, "name": name, "notes": notes, "tags": tags,
                "config": config, "group": group, "mode": mode})
