# coding-memory's capture hook without an interpreter: the hook's stdin into the inbox.
#
#   sh capture.sh HOOK PYTHON-HOOK...
# HOOK is a capture hook's name (post-tool-use, post-tool-use-failure, stop, session-end);
# PYTHON-HOOK is the command that runs the Python hook for it, minus `--background HOOK`
# (`python -I -S .../hook_entry.py`, or the plugin's `sh .../hooks/launch.sh`).
#
# What `install` writes for Claude Code's capture hooks (docs/architecture.md, "Capture in the
# background"): instead of starting a Python interpreter for every tool call, this script
# copies the payload into <data dir>/inbox/ with `cat` and tells the running worker
# through its wake-up FIFO; the worker cleans each file exactly as the Python hook would
# (`inbox.take_in`: the same `hooks.capture_payload`) and queues it, timed at the file's
# modification time. Only shell builtins run besides `cat`.
#
# Whenever it cannot be sure to do what the Python hook would, it runs the Python hook
# instead (before reading stdin, so nothing is lost), and says why in the log (not for a
# setting: that is a choice): a setting that changes what a hook stores is given in the
# environment (the worker reads only settings.json); the data dir is not an absolute path
# without `..` (Python's `abspath` resolves `..` by the letters, the kernel by the folders)
# or does not exist yet; a running worker made no inbox (an older version).
# When no worker runs (none started yet, it is starting, it left, or it died: its FIFO
# stays, its pid is gone) the event still goes into the inbox (made here if need be), and
# the Python hook is run with nothing to store, to start a worker: a file written before
# the hook returns keeps the event's place among the session's events, which a Python
# hook that commits whenever it gets the CPU does not (docs/architecture.md, "Order").
# The file ends with an end mark: the worker never takes half of one.

hook=$1
shift
# The memory-maker's own Claude Code process (the `claude` compressor): never remembered.
[ -n "${CLAUDE_MEM_INTERNAL:-}" ] && exit 0
case $hook in
    post-tool-use) event=PostToolUse ;;
    post-tool-use-failure) event=PostToolUseFailure ;;
    stop) event=Stop ;;
    session-end) event=SessionEnd ;;
    *) exec "$@" --background "$hook" ;;
esac
# The Python hook instead, told why (it says so in the log): the reason, then the command.
fall_back() {
    CLAUDE_MEM_CAPTURE_FALLBACK=$1
    export CLAUDE_MEM_CAPTURE_FALLBACK
    shift
    exec "$@" --background "$hook"
}
# The settings the Python hook's capture reads (exclude_projects, max_payload_bytes,
# max_tool_output_chars); set in the environment, even empty, they are the hook's own.
case ${CLAUDE_MEM_EXCLUDE_PROJECTS+x}${CLAUDE_MEM_MAX_PAYLOAD_BYTES+x}${CLAUDE_MEM_MAX_TOOL_OUTPUT_CHARS+x} in
    ?*) exec "$@" --background "$hook" ;;
esac
# config.data_dir(): $CLAUDE_MEM_DATA_DIR (~ expanded), else ~/.claude-mem.
data=${CLAUDE_MEM_DATA_DIR:-"~/.claude-mem"}
case $data in
    "~" | "~/"*) [ -n "${HOME+set}" ] || fall_back "no \$HOME for the data dir's ~" "$@" ;;  # Python asks pwd
esac
case $data in
    "~") data=$HOME ;;
    "~/"*) data=$HOME/${data#"~/"} ;;
esac
case $data in
    /*) ;;
    *) fall_back "the data dir is not an absolute path" "$@" ;;
esac
case $data/ in
    */../*) fall_back "the data dir's path has a .. in it" "$@" ;;
esac
inbox=$data/inbox
wake=$data/worker.wake
umask 077
if [ -p "$wake" ]; then
    # A worker runs (or was killed and left its FIFO); one that made no inbox is of a
    # version that does not read one.
    [ -d "$inbox" ] || fall_back "the running worker has no inbox (an older version?)" "$@"
elif [ ! -d "$inbox" ]; then
    # No worker runs (it is starting, or none ever ran): the event still goes into the
    # inbox, where it keeps its place in time, and a worker is started below to take it
    # in. (The Python hook in the background used to store it instead, whenever it got the
    # CPU: after the next tool's event, under load.) mkdir is a process, but only once.
    [ -d "$data" ] || fall_back "no data dir yet" "$@"
    mkdir "$inbox" 2>/dev/null || [ -d "$inbox" ] || fall_back "cannot make the inbox" "$@"
fi

# Where the Python hook would look for the project's opt-out: $CLAUDE_PROJECT_DIR, else the
# working directory as the kernel names it (os.getcwd(); "" when it was deleted).
here=
cd -P . 2>/dev/null && here=$PWD
# A name of our own: created only if new (noclobber: O_EXCL); one left by an earlier process
# with this pid is skipped.
set -C
n=0
until { true >"$inbox/$$-$n.$event"; } 2>/dev/null; do
    n=$((n + 1))
    [ "$n" -lt 64 ] || fall_back "cannot create an inbox file" "$@"
done
set +C
file=$inbox/$$-$n.$event
# The header, the payload as it came, then the end mark: the worker takes a file only once
# the mark is there (no `mv`: a process less per event), so it never reads half of one.
if ! { printf 'claude-mem inbox 1\n%s\000%s\000' "${CLAUDE_PROJECT_DIR:-}" "$here"; } 2>/dev/null >>"$file"; then
    fall_back "cannot write the inbox file" "$@"  # stdin untouched: the Python hook stores it
fi
if { cat && printf '\000claude-mem end\n'; } 2>/dev/null >>"$file"; then
    if [ -p "$wake" ]; then
        { printf w 1<>"$wake"; } 2>/dev/null  # read-write: never blocks without a reader
        # Is the worker alive? A worker killed with -9 leaves its FIFO and pid file.
        pid=
        { read -r pid || :; } 2>/dev/null <"$data/worker.pid"
        case $pid in
            "" | *[!0-9]*) ;;
            *) kill -0 "$pid" 2>/dev/null && exit 0 ;;
        esac
    fi
    # No worker (none ran, it left after we looked, or died): start one; its first pass
    # takes the file in.
    CLAUDE_MEM_CAPTURE_FALLBACK="no worker running: starting one for the event in the inbox"
    export CLAUDE_MEM_CAPTURE_FALLBACK
    exec "$@" --background wake-worker </dev/null
fi
# The inbox could not take all of it (disk full?): the Python hook gets what is left of stdin
# and says in the log what it could not store. The worker moves the unfinished file aside.
fall_back "the inbox could not take the whole payload" "$@"
