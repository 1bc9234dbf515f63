# coding-memory's plugin hooks: run src/claude_mem/hook_entry.py EVENT with a Python 3.11+.
#
# hooks/hooks.json runs `sh "${CLAUDE_PLUGIN_ROOT}/hooks/launch.sh" EVENT`. The hook needs only
# the standard library, but `python3` on PATH may be too old (macOS's own is 3.9) or missing,
# and a hook that fails to import records nothing, silently. The first of these is used:
#   1. $CLAUDE_MEM_PYTHON;
#   2. the interpreter `claude-mem install` recorded in <data dir>/python;
#   3. the plugin's own .venv/bin/python;
#   4. python3.14 ... python3.11 on PATH (their names say their version), not in a */shims
#      folder: a pyenv or asdf shim exists for every version it knows, selected or not, and
#      one for a version not selected fails ("pyenv: python3.13: command not found");
#   5. python3 on PATH, once it says it is 3.11 or newer (the only case that costs a process).
# Until step 5 only shell builtins run, so the usual hook pays one `sh` start (~1 ms) before
# Python's own. With none of them, SessionStart says so where the person sees it (a message
# in Claude Code, and the same words in the model's context) and leaves the same words in
# <data dir>/hooks-python-missing for `claude-mem doctor`; every hook still exits 0.
# `sh launch.sh --which` prints the interpreter it would use (or nothing) and exits.

here=${0%/*}
[ "$here" = "$0" ] && here=.
case $here in
    .) root=.. ;;
    */*) root=${here%/*} ;;
    *) root=. ;;
esac
entry="$root/src/claude_mem/hook_entry.py"
data="${CLAUDE_MEM_DATA_DIR:-$HOME/.claude-mem}"
case $data in
    "~") data=$HOME ;;
    "~/"*) data="$HOME/${data#"~/"}" ;;
esac

on_path() {  # like `command -v`, without the subshell: sets $python
    saved_ifs=$IFS; IFS=:
    for dir in $PATH; do
        case $dir in */shims) [ "$1" = python3 ] || continue ;; esac
        if [ -n "$dir" ] && [ -f "$dir/$1" ] && [ -x "$dir/$1" ]; then
            IFS=$saved_ifs; python="$dir/$1"; return 0
        fi
    done
    IFS=$saved_ifs; return 1
}

pick() {
    if [ -n "$CLAUDE_MEM_PYTHON" ] && [ -x "$CLAUDE_MEM_PYTHON" ]; then
        python=$CLAUDE_MEM_PYTHON; return 0
    fi
    python=""
    { IFS= read -r python < "$data/python"; } 2>/dev/null
    if [ -n "$python" ] && [ -x "$python" ]; then return 0; fi
    python="$root/.venv/bin/python"
    if [ -x "$python" ]; then return 0; fi
    for name in python3.14 python3.13 python3.12 python3.11; do
        on_path "$name" && return 0
    done
    if on_path python3; then
        old=$("$python" -I -S -c 'import sys; sys.stdout.write("" if sys.version_info >= (3, 11) else "%d.%d" % sys.version_info[:2])' 2>/dev/null) \
            && [ -z "$old" ] && return 0
        [ -n "$old" ] && old=" (python3 on PATH is $old)"
    fi
    python=""
    return 1
}

if pick; then
    if [ "$1" = "--which" ]; then printf '%s\n' "$python"; exit 0; fi
    exec "$python" -I -S "$entry" "$@"
fi
[ "$1" = "--which" ] && exit 0
[ "$1" = "session-start" ] || exit 0
message="coding-memory is not recording: its hooks need Python 3.11 or newer and found none${old}. Fix: install Python 3.11+ and run \`claude-mem install\` from an environment that has coding-memory (it records its interpreter), or set CLAUDE_MEM_PYTHON to a python3.11+; \`claude-mem doctor\` checks it."
{ command -p mkdir -p -m 700 "$data" && printf '%s\n' "$message" > "$data/hooks-python-missing"; } 2>/dev/null
printf '{"systemMessage": "%s", "hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": "%s"}}\n' "$message" "$message"
exit 0
