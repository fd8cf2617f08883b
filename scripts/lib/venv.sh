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
  cat "$1/$2" "$1/pyproject.toml" | sha256sum | cut -d' ' -f1
}

ensure_venv() {
  local root="$1" lock="$2"
  shift 2
  local venv="$root/.venv" want
  want="$(_lock_digest "$root" "$lock")"
  if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.installed-$lock" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "Installing $lock into .venv (first start, or the lock or pyproject.toml changed)…" >&2
  [ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv --clear "$venv"
  local pip=("$venv/bin/python" -m pip --quiet --disable-pip-version-check)
  "${pip[@]}" install --require-hashes -r "$root/$lock"
  "${pip[@]}" install --no-deps --no-build-isolation -e "$root"
  echo "$want" >"$venv/.installed-$lock"
  local also
  for also in "$@"; do
    _lock_digest "$root" "$also" >"$venv/.installed-$also"
  done
}
