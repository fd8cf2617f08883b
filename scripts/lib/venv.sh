# Sourced by ./scripts/run and ./scripts/test: keep .venv in step with a lock file.
#
#   ensure_venv ROOT LOCK [ALSO_LOCK...]
#
# installs LOCK (hashes required) and the project itself (editable, no dependency
# resolution: the lock has every package, the build backend included) into ROOT/.venv, but
# only when LOCK or pyproject.toml changed since the last install: their hash is kept in the
# venv. A start with nothing changed runs no pip and needs no network. ALSO_LOCK names lock
# files that LOCK contains pin for pin (the dev lock contains the run lock): they are marked
# current too, so `./scripts/run` after `./scripts/test` installs nothing.

_lock_digest() {
  # sha256sum is GNU's; macOS has shasum (the same digest, the same "<hex>  -" line).
  local hasher=(sha256sum)
  command -v sha256sum >/dev/null 2>&1 || hasher=(shasum -a 256)
  cat "$1/$2" "$1/pyproject.toml" | "${hasher[@]}" | cut -d' ' -f1
}

# True when the Python named is 3.11 or newer (what pyproject.toml requires).
_python_ok() {
  "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

# The Python to make the venv with: $PYTHON if set; else python3 if it is new enough (macOS's
# own python3 is 3.9, Ubuntu 22.04's 3.10), else the newest python3.X that is.
_pick_python() {
  if [ -n "${PYTHON:-}" ]; then
    echo "$PYTHON"
    return
  fi
  local candidate
  for candidate in python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && _python_ok "$candidate"; then
      echo "$candidate"
      return
    fi
  done
  echo python3
}

_too_old() {
  local found
  found="$("$1" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)" || true
  cat >&2 <<MSG
The bot needs Python 3.11 or newer; $1: ${found:-not found}. Installing with it would fail.
Install a newer one, then run this again (or point PYTHON at it: PYTHON=/path/to/python3.12 $0):
  macOS:          brew install python@3.12
  Debian/Ubuntu:  sudo apt install python3.11 python3.11-venv  (Ubuntu 22.04: from the deadsnakes PPA)
  anywhere:       uv python install 3.12, or pyenv install 3.12
MSG
}

ensure_venv() {
  local root="$1" lock="$2"
  shift 2
  local venv="$root/.venv" want python
  want="$(_lock_digest "$root" "$lock")"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.installed-$lock" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "Installing $lock into .venv (first start, or the lock or pyproject.toml changed)…" >&2
  # A venv made by a Python too old, or left without pip by a failed creation, is made again.
  if [ ! -x "$venv/bin/python" ] || ! _python_ok "$venv/bin/python" ||
    ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    python="$(_pick_python)"
    if ! _python_ok "$python"; then
      _too_old "$python"
      exit 1
    fi
    if ! "$python" -m venv --clear "$venv"; then
      rm -rf "$venv"
      echo "$python could not make .venv (on Debian/Ubuntu: sudo apt install python3-venv, or python3.X-venv for the version above)." >&2
      exit 1
    fi
  fi
  local pip=("$venv/bin/python" -m pip --quiet --disable-pip-version-check)
  "${pip[@]}" install --require-hashes -r "$root/$lock"
  "${pip[@]}" install --no-deps --no-build-isolation -e "$root"
  echo "$want" >"$venv/.installed-$lock"
  local also
  for also in "$@"; do
    _lock_digest "$root" "$also" >"$venv/.installed-$also"
  done
}
