"""Loading a GGUF file parses it once, and the memo ends with the load."""

from __future__ import annotations

import gguf
import pytest
from transformers import modeling_gguf_pytorch_utils as legacy

from safeeval.models.gguf_once import gguf_parsed_once
from safeeval.models.hf import embedded_model_path


def test_metadata_is_parsed_once_and_callers_get_their_own_copy(monkeypatch) -> None:
    opened: list[str] = []

    class CountingReader(gguf.GGUFReader):
        def __init__(self, path, *args, **kwargs) -> None:
            opened.append(str(path))
            super().__init__(path, *args, **kwargs)

    monkeypatch.setattr(gguf, "GGUFReader", CountingReader)
    real_load, real_name_map = legacy.load_gguf_checkpoint, gguf.get_tensor_name_map
    path = str(embedded_model_path())
    with gguf_parsed_once():
        first = legacy.load_gguf_checkpoint(path, return_tensors=False)
        first["config"].pop("model_type")  # what transformers' config loader does to its copy
        second = legacy.load_gguf_checkpoint(path, return_tensors=False)
        assert gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 30) is gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, 30)
    assert opened == [path]
    assert second["config"]["model_type"] == "llama"
    assert second["tokenizer"]["tokens"][:3] == first["tokenizer"]["tokens"][:3]
    # Outside the block everything is as it was: a new call parses the file again.
    assert (gguf.GGUFReader, legacy.load_gguf_checkpoint, gguf.get_tensor_name_map) == \
        (CountingReader, real_load, real_name_map)
    gguf.GGUFReader(path)
    assert len(opened) == 2


def test_the_originals_come_back_when_the_load_fails() -> None:
    real = (gguf.GGUFReader, legacy.load_gguf_checkpoint, gguf.get_tensor_name_map)
    with pytest.raises(RuntimeError), gguf_parsed_once():
        raise RuntimeError("load failed")
    assert (gguf.GGUFReader, legacy.load_gguf_checkpoint, gguf.get_tensor_name_map) == real
