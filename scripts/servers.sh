# Debian's FTP and SSH servers for the tests and benchmarks, unpacked into .servers/root and run
# from there, never installed system-wide: vsftpd, pure-ftpd and proftpd each provide
# ftp-server and conflict with one another, and no test may start a system service.
# Usage: source scripts/setup.sh; source scripts/servers.sh; need_servers

SERVERS_DIR="${SERVERS_DIR:-$PWD/.servers}"

# The shared libraries the unpacked binaries load, which their packages would have pulled in.
_SERVER_LIBS=(libwrap0 libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3
    libsodium23 libpam-modules)
_SERVER_DEBS=(vsftpd pure-ftpd proftpd-core proftpd-mod-crypto openssh-server)

_download_servers() {
    (cd "$SERVERS_DIR/debs" && apt-get "${APT_LOCK[@]}" download -q "${_SERVER_DEBS[@]}")
}

need_servers() {
    need_debs "${_SERVER_LIBS[@]}" openssh-client openssl
    local want="${_SERVER_DEBS[*]}"
    [ "$(cat "$SERVERS_DIR/.unpacked" 2>/dev/null)" = "$want" ] && return 0
    echo "unpacking Debian's servers into $SERVERS_DIR: $want"
    rm -rf "$SERVERS_DIR"
    mkdir -p "$SERVERS_DIR/debs"
    # (As root, apt warns that it downloads "unsandboxed": harmless here.) Stale package
    # lists name versions the mirror no longer has: then once more after an update.
    _download_servers || {
        apt_update
        _download_servers
    }
    for deb in "$SERVERS_DIR"/debs/*.deb; do
        dpkg-deb -x "$deb" "$SERVERS_DIR/root"
    done
    local binary
    for binary in vsftpd pure-ftpd proftpd sshd; do
        if [ ! -x "$SERVERS_DIR/root/usr/sbin/$binary" ]; then
            echo "$binary is not in the unpacked packages" >&2
            return 1
        fi
        if ldd "$SERVERS_DIR/root/usr/sbin/$binary" | grep -q 'not found'; then
            echo "$binary lacks shared libraries:" >&2
            ldd "$SERVERS_DIR/root/usr/sbin/$binary" | grep 'not found' >&2
            return 1
        fi
    done
    echo "$want" > "$SERVERS_DIR/.unpacked"
}
