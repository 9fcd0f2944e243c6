"""Regenerates every golden file recorded from MLX: python3 tools/goldens/gen_all.py

The examples' generators (gen_examples_*.py) need other references (PyTorch, transformers,
sentence-transformers); each says in its header what to install, and is run by hand.
"""
import glob
import os
import runpy

HERE = os.path.dirname(os.path.abspath(__file__))
for path in sorted(glob.glob(os.path.join(HERE, "gen_*.py"))):
    name = os.path.basename(path)
    if name != "gen_all.py" and not name.startswith("gen_examples_"):
        runpy.run_path(path, run_name="__main__")
