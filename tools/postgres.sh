#!/usr/bin/env bash
# A throwaway PostgreSQL for the mirror tests and benchmark, on 127.0.0.1 and a free port.
#
#   bash tools/postgres.sh run CMD [ARGS...]   start it, run CMD with LEDGER_TEST_DATABASE_URL set, stop it
#   source tools/postgres.sh; pg_start; trap pg_stop EXIT   the same from another script
#
# Installs Debian's `postgresql` when no server binaries are found (as root: CI machines are
# fresh Debian and run as root). PostgreSQL refuses to run as root, so as root the cluster is
# created and run by the `postgres` user, in a temp directory that pg_stop removes.

pg_bin_dir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_install() {
    [[ -n "$(pg_bin_dir)" && -x "$(pg_bin_dir)/initdb" ]] && return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "postgres.sh: PostgreSQL is not installed and only root can install it (apt-get install postgresql)" >&2
        return 1
    fi
    echo "postgres.sh: installing Debian's postgresql" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
}

pg_start() {
    pg_install || return 1
    local bin port
    bin="$(pg_bin_dir)"
    PG_DIR="$(mktemp -d /tmp/ledger-pg.XXXXXX)"
    chmod 755 "$PG_DIR"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$PG_DIR"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
        { cat "$PG_DIR/initdb.log" >&2; return 1; }
    # fsync off: a test database is thrown away, and it makes every commit cheap.
    pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $PG_DIR -c fsync=off -c max_connections=200" start >&2 ||
        { cat "$PG_DIR/server.log" >&2; return 1; }
    PG_PID="$(head -n 1 "$PG_DIR/data/postmaster.pid")"
    PG_CTL="$bin/pg_ctl"
    export LEDGER_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
    echo "postgres.sh: PostgreSQL (pid $PG_PID) at $LEDGER_TEST_DATABASE_URL" >&2
}

pg_stop() {
    [[ -n "${PG_DIR:-}" ]] || return 0
    if [[ -f "$PG_DIR/data/postmaster.pid" ]]; then
        pg_as_owner "${PG_CTL:-$(pg_bin_dir)/pg_ctl}" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 ||
            kill -TERM "${PG_PID:-}" 2>/dev/null
    fi
    rm -rf "$PG_DIR"
    echo "postgres.sh: PostgreSQL (pid ${PG_PID:-?}) stopped" >&2
    unset PG_DIR PG_PID LEDGER_TEST_DATABASE_URL
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -uo pipefail
    if [[ "${1:-}" != "run" || $# -lt 2 ]]; then
        echo "usage: bash tools/postgres.sh run CMD [ARGS...]" >&2
        exit 2
    fi
    shift
    pg_start || exit 1
    trap pg_stop EXIT
    trap 'exit 130' INT TERM
    "$@"
    exit $?
fi
