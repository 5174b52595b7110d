#!/usr/bin/env bash
# make-sample-web-db.sh FILE - the sample CA's web database, in SQLite: users, their
# certificates (the sample CA's issued certificates among them) and revocations, with
# foreign keys, an index and a trigger, like the web front end's database of a CA.
set -euo pipefail
db=${1:?usage: make-sample-web-db.sh FILE}
mkdir -p "$(dirname "$db")"
rm -f "$db"
sqlite3 "$db" >/dev/null <<'SQL'
PRAGMA journal_mode = WAL;
CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT, created TEXT NOT NULL);
CREATE TABLE certificates(serial TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
  subject TEXT NOT NULL, not_after TEXT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX certificates_user ON certificates(user_id);
CREATE TABLE revocations(serial TEXT PRIMARY KEY REFERENCES certificates(serial), revoked_at TEXT NOT NULL, reason INTEGER NOT NULL);
CREATE TRIGGER revocations_mark AFTER INSERT ON revocations
  BEGIN UPDATE certificates SET revoked = 1 WHERE serial = NEW.serial; END;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
  INSERT INTO users(email, name, created) SELECT 'member' || i || '@example-ca.org', 'Member ' || i, '2008-0' || (1 + i % 9) || '-01' FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
  INSERT INTO certificates(serial, user_id, subject, not_after)
  SELECT printf('%04X', 4096 + i), 1 + i % 2000, 'CN=host' || i || '.example-ca.org', '2010-01-01' FROM n;
INSERT INTO revocations(serial, revoked_at, reason) SELECT serial, '2008-04-01', 1 FROM certificates WHERE rowid % 50 = 0;
SQL
