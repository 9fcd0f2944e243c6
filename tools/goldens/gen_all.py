"""Regenerates every golden file: python3 tools/goldens/gen_all.py"""
import glob
import os
import runpy

HERE = os.path.dirname(os.path.abspath(__file__))
for path in sorted(glob.glob(os.path.join(HERE, "gen_*.py"))):
    if os.path.basename(path) != "gen_all.py":
        runpy.run_path(path, run_name="__main__")
