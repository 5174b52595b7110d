#!/usr/bin/env bash
# bench-databases.sh REHOST - database snapshot and restore against the engines' own tools,
# on a database of $ROWS rows (default 1,000,000 certificates and 200,000 log rows),
# both sides in the same run, alternating, best of $ROUNDS (default 3):
#
#   MariaDB    snapshot vs mariadb-dump alone (to /dev/null, neither compressed nor sealed)
#              restore  vs the mariadb client loading that dump (no verification)
#   PostgreSQL snapshot vs pg_dump -Fc --compress=0 alone
#              restore  vs pg_restore --single-transaction of that dump
#
# rehost's side does everything it always does: dump, count and checksum every table in
# the same snapshot, compress, encrypt, seal; restore checks the seal, loads, and
# measures every table against the manifest. Servers run from temporary data
# directories on Unix sockets in $BENCH_DIR (default /tmp/rehost-bench); the data is
# made once. Needs: mariadb-server, postgresql, GNU time (make bench installs them).
set -euo pipefail
rehost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=${BENCH_DIR:-/tmp/rehost-bench}/databases
rounds=${ROUNDS:-3}
rows=${ROWS:-1000000}
mkdir -p "$work"
cd "$work"
[ -f operator.key ] || "$rehost" keygen --out operator >/dev/null
[ -f custodian.key ] || "$rehost" keygen --out custodian >/dev/null

# MariaDB on a socket of its own (as root it runs as root, as in the tests).
user=$(id -un)
if [ ! -d mdb/data ]; then
  mkdir -p mdb
  mariadb-install-db --no-defaults --datadir="$work/mdb/data" --user="$user" --auth-root-authentication-method=normal \
    --skip-test-db >mdb/install.log 2>&1
fi
# (a server left by an interrupted run is stopped first)
if [ -f mdb/pid ]; then kill "$(cat mdb/pid)" 2>/dev/null || true; for _ in $(seq 1 40); do [ -f mdb/pid ] || break; sleep 0.25; done; fi
setsid /usr/sbin/mariadbd --no-defaults --datadir="$work/mdb/data" --socket="$work/mdb/sock" --skip-networking \
  --user="$user" --pid-file="$work/mdb/pid" --log-error="$work/mdb/error.log" --innodb-flush-log-at-trx-commit=0 \
  --innodb-buffer-pool-size=512M </dev/null >/dev/null 2>&1 &
# PostgreSQL refuses to run as root: then it runs as the postgres user.
pgbin=/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin
as_pg=""; [ "$(id -u)" = 0 ] && as_pg="runuser -u postgres --"
if [ ! -d pg/data ]; then
  mkdir -p pg; [ -n "$as_pg" ] && chown postgres pg
  $as_pg "$pgbin/initdb" -D "$work/pg/data" -A trust -U postgres --no-sync >pg/initdb.log 2>&1
fi
$as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
$as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 60 \
  -o "-k '$work/pg' -c listen_addresses='' -c fsync=off -c shared_buffers=256MB" start >/dev/null
stop() {
  kill "$(cat "$work/mdb/pid" 2>/dev/null)" 2>/dev/null || true
  $as_pg "$pgbin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
}
trap stop EXIT
for _ in $(seq 1 120); do mariadb-admin --socket="$work/mdb/sock" -uroot ping >/dev/null 2>&1 && break; sleep 0.25; done

my="--socket=$work/mdb/sock --user=root"
pg="host=$work/pg user=postgres"
mysql() { mariadb $my "$@"; }
psql_() { psql -X -q -v ON_ERROR_STOP=1 -h "$work/pg" -U postgres "$@"; }

# The same CA-shaped data in both: certificates (serial, subject, dates, status, DER)
# and an audit log, from the server's own sequences.
if [ "$(mysql -N -e "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'ca'" 2>/dev/null)" != 2 ]; then
  echo "making the MariaDB database ($rows rows, once)..." >&2
  mysql -e "DROP DATABASE IF EXISTS ca; CREATE DATABASE ca"
  mysql ca -e "CREATE TABLE certs (id INT PRIMARY KEY, serial CHAR(32) NOT NULL, subject VARCHAR(100) NOT NULL,
      issued DATETIME NOT NULL, status CHAR(1) NOT NULL, der VARBINARY(128) NOT NULL) ENGINE=InnoDB;
    INSERT INTO certs SELECT seq, MD5(seq), CONCAT('CN=host', seq, '.example.org,O=Example'),
      '2020-01-01' + INTERVAL seq SECOND, IF(seq % 17 = 0, 'R', 'V'), UNHEX(CONCAT(SHA2(seq, 256), SHA2(seq + 1, 256))) FROM seq_1_to_$rows;
    CREATE TABLE log (id INT PRIMARY KEY, at DATETIME NOT NULL, event VARCHAR(200), cert INT NULL) ENGINE=InnoDB;
    INSERT INTO log SELECT seq, '2020-01-01' + INTERVAL seq MINUTE, CONCAT('issued certificate ', seq), IF(seq % 5 = 0, NULL, seq)
      FROM seq_1_to_$((rows / 5));"
fi
if [ "$(psql_ -At -c "SELECT count(*) FROM pg_database WHERE datname = 'ca'")" != 1 ]; then
  echo "making the PostgreSQL database ($rows rows, once)..." >&2
  psql_ -c "CREATE DATABASE ca"
  psql_ -d ca -c "CREATE TABLE certs (id int PRIMARY KEY, serial text NOT NULL, subject text NOT NULL,
      issued timestamptz NOT NULL, status char(1) NOT NULL, der bytea NOT NULL);
    INSERT INTO certs SELECT g, md5(g::text), 'CN=host' || g || '.example.org,O=Example',
      timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second', CASE WHEN g % 17 = 0 THEN 'R' ELSE 'V' END,
      sha256(g::text::bytea) || sha256((g + 1)::text::bytea) FROM generate_series(1, $rows) g;
    CREATE TABLE log (id int PRIMARY KEY, at timestamptz NOT NULL, event text, cert int);
    INSERT INTO log SELECT g, timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute', 'issued certificate ' || g,
      CASE WHEN g % 5 = 0 THEN NULL ELSE g END FROM generate_series(1, $((rows / 5))) g;"
fi

source "$here/measure.sh"
row() { # row WHAT REFERENCE-NAME TARGET
  awk -v w="$1" -v r="$2" -v t="$3" -v os="$our_s" -v ok="$our_kib" -v rs="$ref_s" 'BEGIN {
    printf "%-20s rehost %6.2f s %6.1f MiB peak | %-22s %6.2f s | time ratio %.2f (target %s)\n", w, os, ok / 1024, r, rs, os / rs, t }'
}

dump_my="mariadb-dump $my --single-transaction --routines --triggers --events --hex-blob --default-character-set=utf8mb4 ca"
snap="rm -f snap.rehost snap.rehost.seal; '$rehost' snapshot --quiet --recipient custodian.pub --sign operator.key --out snap.rehost"
compare "$dump_my > /dev/null" "$snap 'ca=mysql:$my ca'"
my_snapshot=$(row "MariaDB snapshot" "mariadb-dump alone" "1.3")
$dump_my > ca.sql
rm -f my.rehost*; eval "${snap//snap.rehost/my.rehost} 'ca=mysql:$my ca'"
pre="mysql -e 'DROP DATABASE IF EXISTS ca_load; CREATE DATABASE ca_load'"
compare "mariadb $my ca_load < ca.sql" \
  "'$rehost' restore my.rehost --quiet --identity custodian.key --trust operator.pub --db 'ca=mysql:$my ca_load' --to \$(mktemp -u -p '$work')"
my_restore=$(row "MariaDB restore" "mariadb client load" "1.3")
unset pre

pg_dump_="pg_dump --format=custom --compress=0 --no-password --dbname='$pg dbname=ca'"
compare "$pg_dump_ > /dev/null" "$snap 'ca=postgres:$pg dbname=ca'"
pg_snapshot=$(row "PostgreSQL snapshot" "pg_dump -Fc alone" "-")
eval "$pg_dump_" > ca.pgdump
rm -f pg.rehost*; eval "${snap//snap.rehost/pg.rehost} 'ca=postgres:$pg dbname=ca'"
pre="psql_ -c 'DROP DATABASE IF EXISTS ca_load' -c 'CREATE DATABASE ca_load'"
compare "pg_restore --exit-on-error --single-transaction --no-password --dbname='$pg dbname=ca_load' ca.pgdump" \
  "'$rehost' restore pg.rehost --quiet --identity custodian.key --trust operator.pub --db 'ca=postgres:$pg dbname=ca_load' --to \$(mktemp -u -p '$work')"
pg_restore_=$(row "PostgreSQL restore" "pg_restore" "1.3")
unset pre
rm -rf "$work"/tmp.*

echo
echo "rehost database bench: $rows certificates and $((rows / 5)) log rows, $(nproc) cores, best of $rounds"
echo "time ratio = rehost time / reference time (below 1: rehost is faster); rehost also compresses, encrypts, seals and checksums"
echo "$my_snapshot"
echo "$my_restore"
echo "$pg_snapshot"
echo "$pg_restore_"
