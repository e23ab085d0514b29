#!/usr/bin/env bash
# A throwaway PostgreSQL server for retainkit's tests and benchmark (tests/test_postgres.py, benchmarks/).
#
#   scripts/pg-test-cluster.sh install      Debian's postgresql package via apt-get when no server is found
#                                           (as root; otherwise prints the command to run)
#   scripts/pg-test-cluster.sh start [DIR]  a new cluster in DIR (default: a new temporary directory), owned by
#                                           an unprivileged user (`postgres` when run as root, else you),
#                                           listening on 127.0.0.1 only, on a free port; loads the bundled
#                                           sample as table `orders`. Prints shell assignments (eval them):
#                                           RETAINKIT_PG_DIR, RETAINKIT_PG_URL (role `retainkit`, owner of database
#                                           `retainkit`), RETAINKIT_PG_PASSWORD, RETAINKIT_PG_OUTSIDER_URL
#                                           (a role with no rights on the tables).
#   scripts/pg-test-cluster.sh stop DIR     stops that server and removes DIR.
#
# Passwords are random per cluster; connections over TCP need them (scram-sha-256).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
sample="$here/../retainkit/data/sample_transactions.csv"

find_bin() {
    # the newest Debian server binaries, or initdb on PATH (other systems)
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return 0; fi
    return 1
}

cmd_install() {
    if bin="$(find_bin)"; then
        echo "PostgreSQL server found: $bin" >&2
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "PostgreSQL server binaries (initdb, pg_ctl) not found and apt-get is not available:" >&2
        echo "install PostgreSQL with your system's package manager (the postgres tests skip without it)." >&2
        return 1
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "PostgreSQL is not installed. Install it as root with:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y postgresql" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    find_bin >/dev/null
    echo "installed PostgreSQL: $(find_bin)" >&2
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

random_password() {
    python3 -c 'import secrets; print("rk-" + secrets.token_hex(12))'
}

cmd_start() {
    local bin dir owner port superpw pw outpw as
    bin="$(find_bin)" || { cmd_install && bin="$(find_bin)"; } || exit 1
    dir="${1:-$(mktemp -d -t retainkit-pg.XXXXXX)}"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        owner=postgres
        id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
        chown postgres: "$dir"
        chmod 700 "$dir"
        as=(runuser -u postgres --)
    else
        owner="$(id -un)"
        as=()
    fi
    port="$(free_port)"
    superpw="$(random_password)"
    pw="$(random_password)"
    outpw="$(random_password)"
    # the superuser's password file is read by initdb and removed right after
    (umask 077; echo "$superpw" > "$dir/superuser.pw")
    [ "$owner" = postgres ] && chown postgres: "$dir/superuser.pw"
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$dir/superuser.pw" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/superuser.pw"
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    local psql=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres)
    "${as[@]}" "${psql[@]}" -d postgres <<SQL
CREATE ROLE retainkit LOGIN PASSWORD '$pw';
CREATE ROLE outsider LOGIN PASSWORD '$outpw';
CREATE DATABASE retainkit OWNER retainkit;
SQL
    PGPASSWORD="$pw" "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U retainkit -d retainkit <<SQL
CREATE TABLE orders (
    order_id text, customer_id text, "timestamp" timestamp without time zone, amount numeric(12, 2),
    channel text, country text, is_member boolean, member_since date
);
\copy orders FROM '$sample' WITH (FORMAT csv, HEADER true)
REVOKE ALL ON orders FROM PUBLIC;
SQL
    echo "RETAINKIT_PG_DIR='$dir'"
    echo "RETAINKIT_PG_URL='postgresql://retainkit:$pw@127.0.0.1:$port/retainkit'"
    echo "RETAINKIT_PG_PASSWORD='$pw'"
    echo "RETAINKIT_PG_OUTSIDER_URL='postgresql://outsider:$outpw@127.0.0.1:$port/retainkit'"
    echo "RETAINKIT_PG_BIN='$bin'"
}

cmd_stop() {
    local dir="${1:?usage: $0 stop DIR}" bin
    bin="$(find_bin)" || true
    if [ -f "$dir/data/postmaster.pid" ] && [ -n "$bin" ]; then
        if [ "$(id -u)" -eq 0 ]; then
            runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
        else
            "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
        fi
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    install) cmd_install ;;
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    *) echo "usage: $0 install | start [DIR] | stop DIR" >&2; exit 2 ;;
esac
