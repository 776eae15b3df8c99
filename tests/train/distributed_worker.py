"""One process of the distributed tests (run by ``python -m kino.train.launch`` or alone).

``python distributed_worker.py OUT MODE [CHECKPOINTS EPOCHS RESUME]`` writes
``OUT/process_<i>.json``: the process count, the global device count, each run's status
and history, the events this process's own (not built-in) handlers saw and what its
text dashboard printed.
MODE: ``feeds`` (resident and host-fed runs), ``halt`` (process 0's handler halts
after epoch 2), ``fail`` (process 0's handler raises in epoch 2), ``checkpoint``
(checkpoints to CHECKPOINTS, EPOCHS epochs, resumed from CHECKPOINTS when RESUME is 1,
replacing what is there when it is "overwrite").
"""

import io
import json
import sys
from pathlib import Path

import jax

from kino import train
from tests.train.tiny import blobs, mlp

out, mode = Path(sys.argv[1]), sys.argv[2]
seen: list[str] = []
dashboard = io.StringIO()


def trainer():
    loop = train.trainer(mlp(), "sparse_categorical_cross_entropy", "adam").metric("accuracy")
    loop.validate(train.batches(*blobs(24, seed=1), batch_size=8))
    loop.handle("epoch_completed", lambda state: seen.append(f"epoch {state.epoch}"))
    return loop


data = train.batches(*blobs(), batch_size=16, seed=3)
runs = {}
if mode == "feeds":
    for on_device in (True, False):
        r = trainer().run(data, epochs=3, data_on_device=on_device)
        runs["resident" if on_device else "host"] = r
elif mode == "halt":
    loop = trainer()
    train.TextProgress(dashboard).follow(loop)  # what kino.dashboard(loop) is in a script
    loop.handle("epoch_completed", lambda state: "halt_loop" if state.epoch == 2 else None)
    runs["halt"] = loop.run(data, epochs=4)
elif mode == "fail":

    def fails(state):
        if state.epoch == 2:
            raise RuntimeError("the dashboard broke")

    loop = trainer()
    loop.handle("epoch_completed", fails)
    runs["fail"] = loop.run(data, epochs=4)
elif mode == "checkpoint":
    directory, epochs, resume = sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
    loop = trainer().checkpoint(directory, keep=2, overwrite=sys.argv[5] == "overwrite")
    runs["checkpoint"] = loop.run(data, epochs=epochs, resume=directory if resume else None)

report = {
    "processes": jax.process_count(),
    "devices": len(jax.devices()),
    "runs": {
        k: {"status": r.status, "reason": r.reason, "history": r.history.to_dicts()}
        for k, r in runs.items()
    },
    "events": seen,
    "dashboard": dashboard.getvalue(),
}
(out / f"process_{jax.process_index()}.json").write_text(json.dumps(report))
