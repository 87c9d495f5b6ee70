"""Check safeeval's greedy loop (safeeval/models/local/greedy.py) against transformers' `generate` on a GPU.

The GPU machine has torch and transformers but not safeeval's other
dependencies, and no model files (the embedded GGUF is larger than what can be
sent there), so this loads the one module by path and uses a randomly
initialised Llama with SmolLM2-135M's shapes. 64 prompts share a 24-token
prefix (one is a prefix of another, one a duplicate), with answer budgets of 4
to 39 tokens. Each row's answer is compared with `generate` run on that prompt
alone. Prints one JSON line per dtype.

    python benchmarks/greedy_gpu.py        # needs a CUDA device
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

import torch
import transformers

MODULE = Path(__file__).resolve().parent.parent / "safeeval" / "models" / "greedy.py"


def load_greedy():
    spec = importlib.util.spec_from_file_location("greedy", MODULE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["greedy"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def main() -> None:
    greedy = load_greedy()
    print("torch", torch.__version__, "transformers", transformers.__version__, torch.cuda.get_device_name(0))
    config = transformers.LlamaConfig(
        vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
        num_key_value_heads=3, max_position_embeddings=8192, rope_theta=100000.0, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, pad_token_id=2)
    torch.manual_seed(0)
    for dtype in (torch.float32, torch.bfloat16):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype).to("cuda").eval()
        g = torch.Generator().manual_seed(1)
        system = torch.randint(3, 49152, (24,), generator=g).tolist()
        lengths = torch.randint(5, 300, (64,), generator=g).tolist()
        prompts = [system + torch.randint(3, 49152, (n,), generator=g).tolist() for n in lengths]
        prompts[1] = prompts[0][:-2]
        prompts[2] = list(prompts[0])
        budgets = torch.randint(4, 40, (64,), generator=g).tolist()
        rows = [greedy.Row(prompt=p, max_new=b) for p, b in zip(prompts, budgets)]
        torch.cuda.synchronize()
        start = time.perf_counter()
        greedy.greedy_generate(model, rows, {2})
        torch.cuda.synchronize()
        greedy_s = time.perf_counter() - start
        same = 0
        start = time.perf_counter()
        with torch.inference_mode():
            for row in rows:
                out = model.generate(torch.tensor([row.prompt], device="cuda"), max_new_tokens=row.max_new,
                                     do_sample=False, temperature=None, top_p=None, top_k=None, pad_token_id=2)
                same += [t for t in out[0, len(row.prompt):].tolist() if t != 2] == row.out
        print(json.dumps({"dtype": str(dtype), "rows": len(rows), "identical_to_generate": same,
                          "greedy_s": round(greedy_s, 2),
                          "generate_one_by_one_s": round(time.perf_counter() - start, 2),
                          "new_tokens": sum(len(r.out) for r in rows)}))


if __name__ == "__main__":
    main()
