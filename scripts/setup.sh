# Shared by scripts/serve and scripts/test: installs Debian packages and the venv, idempotently.
# Usage: source scripts/setup.sh; need_debs PKG...; need_venv [EXTRA]

_apt_updated=""

_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

need_debs() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Debian packages: ${missing[*]}"
    if [ -z "$_apt_updated" ]; then
        apt_update
        _apt_updated=1
    fi
    _as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get "${APT_LOCK[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Another apt (unattended upgrades, a second worktree) may hold the dpkg lock: wait for it.
APT_LOCK=(-o DPkg::Lock::Timeout=600)

# `apt-get update`, waiting as long for the package lists' lock, which apt (2.6) does not wait
# for whatever DPkg::Lock::Timeout says: tried again while another apt holds it.
apt_update() {
    local out waited=0
    until out="$(_as_root apt-get "${APT_LOCK[@]}" update -qq 2>&1)"; do
        if ! grep -q "Could not get lock" <<<"$out" || [ "$waited" -ge 600 ]; then
            echo "$out" >&2
            return 1
        fi
        sleep 5
        waited=$((waited + 5))
    done
    [ -z "$out" ] || echo "$out"
}

need_venv() {
    local extra="${1:-}"
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        need_debs python3-venv
    fi
    [ -x .venv/bin/python ] || python3 -m venv .venv
    local spec="." stamp=".venv/.installed"
    if [ -n "$extra" ]; then spec=".[$extra]"; stamp=".venv/.installed-$extra"; fi
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e "$spec"
        echo "$want" > "$stamp"
    fi
}
