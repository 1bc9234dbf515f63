"""``python -m claude_mem.cli``: the same as the ``claude-mem`` command."""
from claude_mem.cli import main

main()
