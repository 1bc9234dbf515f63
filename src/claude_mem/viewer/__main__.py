"""``python -m claude_mem.viewer``: run the viewer's server process (``process.ensure`` starts it)."""
import sys

from claude_mem.viewer.launcher import main

sys.exit(main())
