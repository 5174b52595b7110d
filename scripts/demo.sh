#!/usr/bin/env bash
# demo.sh REHOST WORKDIR - the main job end to end on a fresh sample CA:
# keys, snapshot, the auditor's key-free check (rehost, then stock openssl and
# sha256sum), a deep verify, a restore, and a comparison with the original.
set -euo pipefail
rehost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=${2:?usage: demo.sh REHOST WORKDIR}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. A sample CA host: OpenSSL root and issuing CA (keys in private/, mode 0600) and the CA's web database (SQLite)"
"$here/make-sample-ca.sh" srv/ca
"$here/make-sample-web-db.sh" srv/web/ca-web.sqlite
run cat "$here/../manifests/sample-ca.yaml"

step "2. Identities: the operator signs seals, the custodian can decrypt, the auditor witnesses"
run "$rehost" keygen --out operator
run "$rehost" keygen --out custodian
run "$rehost" keygen --out auditor

step "3. Snapshot of everything the inventory lists, the database while it keeps serving: encrypted to the custodian, sealed by the operator"
run "$rehost" snapshot --inventory "$here/../manifests/sample-ca.yaml" --root . --out ca.rehost --recipient custodian.pub --sign operator.key --label "demo move"
run cat ca.rehost.seal

step "4. The auditor witnesses the sealing, recording the bag's serial number"
run "$rehost" seal sign ca.rehost --key auditor.key --role auditor --bag BAG-0042 --note "demo: disks bagged"
cat > policy.txt <<'POLICY'
trust operator.pub as sealer
trust auditor.pub as auditor
require sealer
require auditor
POLICY
run cat policy.txt

step "4b. On arrival: seal, policy (sealer and auditor both signed), bag serial, archive; no decryption key"
run "$rehost" verify ca.rehost --policy policy.txt --expect-bag BAG-0042

step "5. The same check with stock tools only: the README's auditor procedure, as written"
sed -n '/<!-- auditor-procedure:begin -->/,/<!-- auditor-procedure:end -->/p' "$here/../README.md" \
  | grep -v -e '^<!--' -e '^```' > auditor-procedure.sh
run env ARCHIVE=ca.rehost SEAL=ca.rehost.seal SIGNER=operator.pub K=1 bash -e auditor-procedure.sh

step "6. Deep verify: the custodian decrypts every chunk and checks every entry"
run "$rehost" verify ca.rehost --policy policy.txt --identity custodian.key

step "7. Restore into a new directory (staged, moved into place only when whole) and a new database file, checked table by table"
run "$rehost" restore ca.rehost --to restored --db web=sqlite:restored-web.sqlite --identity custodian.key --policy policy.txt --expect-bag BAG-0042

step "8. The restored tree equals the original"
run diff -r srv/ca restored/ca
run sh -c "cd srv/ca && find . -printf '%p %m %s %T@\n' | sort > ../../before.txt"
run sh -c "cd restored/ca && find . -printf '%p %m %s %T@\n' | sort > ../../after.txt"
run cmp before.txt after.txt
run sqlite3 restored-web.sqlite "PRAGMA integrity_check; SELECT count(*) || ' certificates, ' || sum(revoked) || ' revoked' FROM certificates"
step "9. Post-move checks: the restored CA is consistent and its keys are sound"
run "$rehost" check restored --blocklist "$here/../testdata/debian-weak-sample" --no-standard-blocklists

step "10. ...but the off-line page of 2008 served a key from Debian's broken OpenSSL"
mkdir -p offline-page
cp "$here/../testdata/debian-weak-sample/rsa1024-le32-pid00007-nornd.pem" offline-page/server.key
printf '$ %s\n' "rehost check offline-page --blocklist testdata/debian-weak-sample"
if "$rehost" check offline-page --blocklist "$here/../testdata/debian-weak-sample" --no-standard-blocklists; then
  echo "demo: the weak key was not flagged" >&2; exit 1
fi
echo
echo "demo complete: content, modes, sizes and mtimes restored, the database whole, the CA checked; files are in $work"
