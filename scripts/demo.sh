#!/usr/bin/env bash
# demo.sh REHOST WORKDIR - rehost's main job end to end: the datacenter move runbook
# (runbooks/datacenter-move.yaml) run on a fresh sample CA host, with an answers file
# standing in for the people present (operator, auditor, ISP staff, each with their own
# key), then the journal verified, the auditor's report written, and the evidence sealed.
set -euo pipefail
rehost=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=${2:?usage: demo.sh REHOST WORKDIR}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
rm -rf "$work"
mkdir -p "$work"
cd "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "1. A sample CA host: an OpenSSL root and issuing CA (keys in private/, mode 0600) and the CA's web database (SQLite)"
"$here/make-sample-ca.sh" srv/ca
"$here/make-sample-web-db.sh" srv/web/ca-web.sqlite
mkdir -p manifests testdata
cp "$repo/manifests/sample-ca.yaml" manifests/
cp -r "$repo/testdata/debian-weak-sample" testdata/

step "2. The people: the operator runs the move and seals, the custodian can decrypt, the auditor and the ISP witness"
for who in operator custodian auditor isp; do "$rehost" keygen --out "$who" >/dev/null; done
cat > policy.txt <<'POLICY'
# Who may act and witness, in which roles (rehost runbook lint checks every step's roles are here).
trust operator.pub as sealer, operator, old-team, custody
trust auditor.pub as auditor
trust isp.pub as isp-witness, new-team, custody
require sealer
require auditor
POLICY
run cat policy.txt

step "3. Two live TLS endpoints on loopback: the off-line page (the 2008 one, with a Debian weak key) and the restored site"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
weak="testdata/debian-weak-sample/rsa1024-le32-pid00007-nornd.pem"
openssl req -x509 -new -key "$weak" -subj /CN=offline.example-ca.org -addext subjectAltName=IP:127.0.0.1 -days 30 -out offline.crt 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout online.key -subj /CN=www.example-ca.org -addext subjectAltName=IP:127.0.0.1 -days 30 -out online.crt 2>/dev/null
offline_port=$(free_port); online_port=$(free_port)
openssl s_server -accept "127.0.0.1:$offline_port" -key "$weak" -cert offline.crt -cipher 'DEFAULT@SECLEVEL=0' -quiet </dev/null >offline.log 2>&1 &
servers=$!
openssl s_server -accept "127.0.0.1:$online_port" -key online.key -cert online.crt -quiet </dev/null >online.log 2>&1 &
servers="$servers $!"
trap 'kill $servers 2>/dev/null || true' EXIT
for port in "$offline_port" "$online_port"; do
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
echo "off-line page on 127.0.0.1:$offline_port, web site on 127.0.0.1:$online_port"

step "4. The runbook, checked, and as the paper script for the ceremony"
run "$rehost" runbook lint "$repo/runbooks/datacenter-move.yaml"
"$rehost" runbook show "$repo/runbooks/datacenter-move.yaml" --format html > move-script.html
"$rehost" runbook show "$repo/runbooks/datacenter-move.yaml" | sed -n '1,12p'
echo "   ... (the whole script: $work/move-script.html)"

step "5. What the people present answer (a terminal would ask them; each witness uses their own key)"
cat > answers.yaml <<'ANSWERS'
announce-downtime: yes
extra-disk: WD-WCC4N0123456
stop-ca: yes
# The off-line page serves the 2008 key: rehost check flags it, so it is not put up.
offline-page-key: {failed: skip, reason: "the off-line page serves a Debian weak key (CVE-2008-0166): not served until a new key is made"}
offline-page-up: {skip: "not served: see the TLS check of the step before"}
shutdown: yes
bag-vienna: BAG-0042
disk-seal-vienna: DISK-SEAL-7
sealing-witnessed: [auditor.key, isp.key]
custody-to-courier: [operator.key, isp.key]
drive: yes
bag-ede: BAG-0042
disk-seal-ede: DISK-SEAL-7
opening-witnessed: [auditor.key, isp.key]
boot: yes
hand-over: [operator.key, isp.key]
go-live: yes
monitoring: yes
ANSWERS
run cat answers.yaml

step "6. The move, step by step: every event signed into the journal before the next action"
run "$rehost" runbook run "$repo/runbooks/datacenter-move.yaml" --journal move-journal --as "Philipp (old team)" --key operator.key \
  --answers answers.yaml --param "offline-page=127.0.0.1:$offline_port" --param "online-site=127.0.0.1:$online_port"

step "7. The auditor: the journal verified (no secret needed), one line checked with openssl alone, the report"
run "$rehost" runbook verify move-journal
sed -n '/<!-- journal-procedure:begin -->/,/<!-- journal-procedure:end -->/p' "$repo/docs/RUNBOOK.md" \
  | grep -v -e '^<!--' -e '^```' > journal-procedure.sh
witness_line=$(grep -n -m1 '"event":"witnessed"' move-journal/journal.jsonl | cut -d: -f1)
run env JOURNAL=move-journal/journal.jsonl N="$witness_line" bash -e journal-procedure.sh
run "$rehost" runbook report move-journal --format html --out move-report.html
run "$rehost" runbook status move-journal

step "8. The evidence sealed: the journal and the report, signed by the operator, countersigned by the auditor"
run "$rehost" snapshot move-journal move-report.html --out evidence.rehost --recipient custodian.pub --sign operator.key \
  --label "journal and report of the move to Ede"
run "$rehost" seal sign evidence.rehost --key auditor.key --role auditor --note "the move's evidence"
run "$rehost" verify evidence.rehost --policy policy.txt

step "9. The seal of the final backup, checked with stock tools only (the README's auditor procedure)"
sed -n '/<!-- auditor-procedure:begin -->/,/<!-- auditor-procedure:end -->/p' "$repo/README.md" \
  | grep -v -e '^<!--' -e '^```' > auditor-procedure.sh
run env ARCHIVE=ca.rehost SEAL=ca.rehost.seal SIGNER=operator.pub K=1 ROLE=sealer sh auditor-procedure.sh
run env ARCHIVE=evidence.rehost SEAL=evidence.rehost.seal SIGNER=auditor.pub K=2 ROLE=auditor sh auditor-procedure.sh

step "10. The restored CA equals the original"
run diff -r srv/ca restored/ca
run sh -c "cd srv/ca && find . -printf '%p %m %s %T@\n' | sort > ../../before.txt"
run sh -c "cd restored/ca && find . -printf '%p %m %s %T@\n' | sort > ../../after.txt"
run cmp before.txt after.txt
run sqlite3 restored-web.sqlite "PRAGMA integrity_check; SELECT count(*) || ' certificates, ' || sum(revoked) || ' revoked' FROM certificates"
echo
echo "demo complete: the move ran step by step, witnessed and journalled; the report is $work/move-report.html,"
echo "the sealed evidence $work/evidence.rehost; the restored CA is in $work/restored"
