"""claude-mem: persistent memory for Claude Code (distributed as ``coding-memory``)."""

__version__ = "0.1.0"
# The distribution's name on an index and in the plugin marketplace; ``claude-mem`` on PyPI is
# another project. The package and the command keep the original's name.
DISTRIBUTION = "coding-memory"
