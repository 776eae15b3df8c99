"""Model names resolved to local folders: a path as is, a hub name through ``huggingface_hub``.

``huggingface_hub.snapshot_download`` does the work: its cache (``HF_HOME``), its
offline mode (``HF_HUB_OFFLINE=1``) and its progress bars. Only the files kino reads
are fetched.

>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> str(resolve(folder)) == folder
True
"""

from __future__ import annotations

import os
from pathlib import Path

from kino.models.errors import import_optional

#: The files of a hub repository kino reads (weights, config, tokenizer, featurizer).
PATTERNS = (
    "config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
)


def _looks_local(name: str) -> bool:
    return name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1)


def resolve(name_or_path: str | Path, *, func: str = "kino.models.load") -> Path:
    """The local folder for ``name_or_path``: an existing directory, or the hub's snapshot.

    >>> resolve("./no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: kino.models.load: ./no/such/folder is not a folder (a hub name ...)
    """
    from kino.contracts import fail

    if not isinstance(name_or_path, (str, Path)) or not str(name_or_path):
        fail(func, "name_or_path", "a hub name or a local folder", name_or_path)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    name = str(name_or_path)
    if isinstance(name_or_path, Path) or _looks_local(name) or path.exists():
        raise FileNotFoundError(
            f"{func}: {name} is not a folder (a hub name looks like 'owner/model')"
        )
    return download(name, func=func)


def download(repo_id: str, *, func: str = "kino.models.load") -> Path:
    """The snapshot of hub repository ``repo_id`` in ``huggingface_hub``'s cache.

    Offline (``HF_HUB_OFFLINE=1``) only the cache is read; a name it does not hold
    raises ``FileNotFoundError`` saying so.

    Needs the network (or the cache), so this example is not run:

    >>> download("sentence-transformers/all-MiniLM-L6-v2")  # doctest: +SKIP
    PosixPath('/root/.cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2/...')
    """
    hub = import_optional("huggingface_hub", func=func)
    errors = import_optional("huggingface_hub.errors", func=func)
    try:
        folder = hub.snapshot_download(repo_id, allow_patterns=list(PATTERNS))
    except errors.LocalEntryNotFoundError as error:
        raise FileNotFoundError(
            f"{func}: {repo_id!r} is not in the Hugging Face cache ({_cache()}) and the hub "
            "cannot be reached (offline: HF_HUB_OFFLINE is set, or no network); download it "
            "once with network access, or pass a local folder"
        ) from error
    except errors.RepositoryNotFoundError as error:
        raise FileNotFoundError(f"{func}: the hub has no model {repo_id!r}") from error
    return Path(folder)


def _cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)
