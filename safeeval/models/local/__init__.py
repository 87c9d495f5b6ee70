"""Local inference behind the transformers adapter (`models/hf.py`): safeeval's own greedy
decoding loop over a model's forward pass (`greedy.py`) and the prefix tree that lets a
batch compute every stretch of tokens its prompts share once (`prefix_tree.py`)."""
