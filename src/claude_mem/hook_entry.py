"""Script run by Claude Code for each hook: ``<python> -I -S <this file> <event>``.

Kept tiny on purpose: a script is compiled on every run while imported modules come
from cached bytecode, and ``-S`` skips site-packages processing (several milliseconds).
It puts the package's parent folder on ``sys.path`` itself and hands over to
``claude_mem.hooks.main``, which never raises and always exits 0.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
try:
    from claude_mem.hooks import main
except BaseException:  # a broken install must not break Claude Code either
    sys.exit(0)
sys.exit(main())
