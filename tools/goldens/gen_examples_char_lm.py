"""Golden of tests/char_lm.rs `gradients_match_torch`: a tiny char_lm GPT's initial weights
(torch, MLX's initialisation), one batch of the Shakespeare text, its loss and the gradients of
every parameter, from the PyTorch reference tools/reference/char_lm_torch.py.

Needs: python3 with torch, safetensors and numpy (e.g. /tmp/torchenv_random/bin/python), and
the Shakespeare texts in the rmlx cache (run the char_lm example once).

    python tools/goldens/gen_examples_char_lm.py
"""

import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = os.path.join(root, "crates/rmlx-examples/tests/goldens/char_lm_grads.safetensors")
subprocess.run(
    [sys.executable, os.path.join(root, "tools/reference/char_lm_torch.py"),
     "--layers", "2", "--dim", "16", "--heads", "2", "--context", "12", "--batch-size", "3",
     "--seed", "1", "--grads", out],
    check=True,
)
