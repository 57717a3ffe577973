#!/usr/bin/env bash
# Install and start the PostgreSQL and Redis servers the ledger's contract suite runs
# against, from Debian's packages, on loopback only. Run as root; safe to run twice.
#
# Prints `export PROMORULES_TEST_POSTGRES_URL=...` and `export PROMORULES_TEST_REDIS_URL=...`
# on stdout (everything else goes to stderr), so .ci/run can do:
#     eval "$(bash .ci/services.sh)"
set -euo pipefail

PG_CLUSTER=promorules
PG_PORT=${PROMORULES_PG_PORT:-54329}
PG_USER=promorules
PG_PASSWORD=promorules
PG_DB=promorules_test
REDIS_PORT=${PROMORULES_REDIS_PORT:-63790}
REDIS_DIR=/var/lib/promorules-redis

log() { echo "services: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (installs packages, starts servers)"
    exit 2
fi

need_install=0
command -v pg_createcluster >/dev/null 2>&1 || need_install=1
command -v redis-server >/dev/null 2>&1 || need_install=1
[ -n "$(ls /usr/lib/postgresql 2>/dev/null)" ] || need_install=1
if [ "$need_install" -eq 1 ]; then
    log "installing postgresql and redis-server"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    # policy-rc.d keeps the packages' own init scripts from starting default servers:
    # we start dedicated ones below, on ports of our own.
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    apt-get install -y --no-install-recommends postgresql redis-server >&2
    [ "$own_policy" -eq 0 ] || rm -f /usr/sbin/policy-rc.d
fi

# --- PostgreSQL: a dedicated cluster, so the machine's default one is left alone ---
# Debian's wrappers are used on purpose; a stray pg_ctl on PATH is never relied upon.
PG_VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$PG_CLUSTER"; then
    log "creating PostgreSQL $PG_VERSION cluster $PG_CLUSTER on port $PG_PORT"
    pg_createcluster "$PG_VERSION" "$PG_CLUSTER" -p "$PG_PORT" >&2 -- \
        --auth-local=peer --auth-host=scram-sha-256
    conf=/etc/postgresql/$PG_VERSION/$PG_CLUSTER/postgresql.conf
    {
        echo "listen_addresses = '127.0.0.1'"
        # Room for the concurrency tests and the benchmark's 32 clients.
        echo "max_connections = 200"
    } >>"$conf"
fi
if ! pg_lsclusters -h | awk -v c="$PG_CLUSTER" '$2 == c {print $4}' | grep -qx online; then
    log "starting PostgreSQL cluster $PG_CLUSTER"
    pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start >&2
fi
for _ in $(seq 1 60); do
    su postgres -c "psql -p $PG_PORT -Atqc 'select 1'" >/dev/null 2>&1 && break
    sleep 0.5
done
su postgres -c "psql -p $PG_PORT -Atqc 'select 1'" >/dev/null
psql_admin() { su postgres -c "psql -p $PG_PORT -v ON_ERROR_STOP=1 -Atqc \"$1\""; }
if [ "$(psql_admin "select 1 from pg_roles where rolname = '$PG_USER'")" != 1 ]; then
    psql_admin "create role $PG_USER login password '$PG_PASSWORD'" >&2
fi
if [ "$(psql_admin "select 1 from pg_database where datname = '$PG_DB'")" != 1 ]; then
    psql_admin "create database $PG_DB owner $PG_USER" >&2
fi
PG_URL="postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
for _ in $(seq 1 30); do
    PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
        -Atqc 'select 1' >/dev/null 2>&1 && break
    sleep 0.5
done
PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" \
    -Atqc 'select 1' >/dev/null
log "PostgreSQL ready on 127.0.0.1:$PG_PORT"

# --- Redis: a dedicated server on its own port ---
if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -qx PONG; then
    log "starting redis-server on 127.0.0.1:$REDIS_PORT"
    mkdir -p "$REDIS_DIR"
    # appendonly with fsync every second: what a ledger needs to survive a restart.
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" \
        --dir "$REDIS_DIR" --appendonly yes --appendfsync everysec --save '' \
        --logfile "$REDIS_DIR/redis.log" --pidfile "$REDIS_DIR/redis.pid" >&2
fi
for _ in $(seq 1 60); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -qx PONG && break
    sleep 0.5
done
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping | grep -qx PONG
log "Redis ready on 127.0.0.1:$REDIS_PORT"

echo "export PROMORULES_TEST_POSTGRES_URL=$PG_URL"
echo "export PROMORULES_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
