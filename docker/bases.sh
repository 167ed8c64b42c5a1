#!/bin/sh
# The base images the Dockerfiles start from, present in the local engine: pulled from
# the image registry, or, when it cannot be reached (no route, or a proxy that re-signs
# TLS, which the engine refuses), made here with debootstrap from the Debian mirror apt
# already uses and imported under the same names. `make docker-bases` runs it; the
# builds after it need only Debian's and PyPI's package servers.
#
#   DOCKER                      the docker command (default: docker)
#   RECEPTIONIST_DEBIAN_MIRROR  the mirror for debootstrap (default: the first .../debian
#                               in apt's sources)
set -eu
docker=${DOCKER:-docker}

say() { echo "docker-bases: $*" >&2; }

mirror() {
    if [ -n "${RECEPTIONIST_DEBIAN_MIRROR:-}" ]; then
        echo "$RECEPTIONIST_DEBIAN_MIRROR"
        return
    fi
    # one-line sources ("deb [opts] URI suite ...") and deb822 ("URIs: URI")
    found=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
        sed -n -e 's/^[[:space:]]*URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' \
               -e 's/^[[:space:]]*deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' |
        grep -E '/debian/?$' | head -n 1) || true
    if [ -z "$found" ]; then
        say "no Debian mirror in apt's sources: set RECEPTIONIST_DEBIAN_MIRROR"
        exit 1
    fi
    echo "$found"
}

make_base() {  # make_base IMAGE SUITE [PACKAGES]
    image=$1 suite=$2 packages=${3:-}
    command -v debootstrap > /dev/null ||
        apt-get install -y -q --no-install-recommends debootstrap > /dev/null
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    include=""
    [ -z "$packages" ] || include="--include=$packages"
    # shellcheck disable=SC2086  # $include is one word or none
    debootstrap --variant=minbase $include "$suite" "$root/fs" "$(mirror)" > /dev/null
    rm -f "$root"/fs/var/cache/apt/archives/*.deb "$root"/fs/var/lib/apt/lists/*_* 2> /dev/null || true
    tar -C "$root/fs" --numeric-owner -c . | "$docker" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$image" > /dev/null
    rm -rf "$root"
    trap - EXIT
    say "made $image locally (debootstrap $suite)"
}

base() {  # base IMAGE SUITE [PACKAGES]
    if "$docker" image inspect "$1" > /dev/null 2>&1; then
        say "$1 is present"
    elif reason=$("$docker" pull -q "$1" 2>&1 > /dev/null); then
        say "pulled $1"
    else
        say "registry unreachable ($(echo "$reason" | tail -n 1 | cut -c 1-120)); making $1 locally"
        make_base "$@"
    fi
}

base debian:sid-slim sid
base python:3.11-slim bookworm python3,python3-venv,ca-certificates
