# rehost - see README.md. Every target works on a fresh Debian 12 machine as root
# (or with sudo): `deps` installs what is missing.

PREFIX ?= /usr/local
SWIFT  ?= swift
DEBS   := libarchive-dev libzstd-dev libssl-dev libsqlite3-dev libgmp-dev pkg-config zstd openssl openssh-client python3 python3-pip sqlite3
# The database tests start real servers from Debian's packages; the runbook report is printed by
# a real browser (chromium, headless) and read back with pdftotext; the backup tests fake dates
# with libfaketime and check their metrics with promtool (Debian's prometheus).
TEST_DEBS  := postgresql mariadb-server mariadb-client acl chromium poppler-utils procps faketime prometheus rclone openssh-server curl man-db groff-base
BENCH_DEBS := age time gcc restic borgbackup postgresql mariadb-server mariadb-client
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all setup deps test-deps build release test demo bench bench-nightly bench-checks bench-databases bench-deps man install clean fuzz fuzz-build

all: build

# Install the Debian packages the build and tests need, only when missing.
deps:
	@missing=""; for p in $(DEBS) $(EXTRA_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@# bagit-python, the Library of Congress BagIt validator, checks our bags in the tests;
	@# cryptography and zstandard run contrib/python/rehost_format.py, the independent
	@# implementation of docs/FORMAT.md the tests hold rehost against.
	@# (Debian's own python3 refuses pip installs without --break-system-packages, PEP 668.)
	@for m in bagit cryptography zstandard; do \
	  python3 -c "import $$m" 2>/dev/null || python3 -m pip install -q --disable-pip-version-check $$m \
	    || python3 -m pip install -q --disable-pip-version-check --break-system-packages $$m; \
	done

setup: deps build

build: deps
	$(SWIFT) build

# The Swift runtime and Foundation linked in: the binary that `make install` puts on a CA
# host needs only Debian's libraries, not this toolchain, and starts in half the time on a
# cold page cache (a nightly job's case: 0.15 s against 0.31 s here).
release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# moto's S3 server (PyPI) for the offsite tests, only when missing.
TEST_PIP := moto[server]==5.2.1
test-deps:
	$(MAKE) deps EXTRA_DEBS="$(TEST_DEBS)"
	@command -v moto_server >/dev/null && python3 -c 'import boto3, flask_cors' 2>/dev/null \
	  || python3 -m pip install -q '$(TEST_PIP)'

# Unit tests and end-to-end tests of the real binary (built first), with real
# PostgreSQL and MariaDB servers started by the tests on Unix sockets in /tmp; then
# every fuzz target for a few seconds on its corpus.
test: test-deps
	$(SWIFT) build
	$(SWIFT) test
	$(MAKE) fuzz FUZZ_SECONDS=4

# libFuzzer on every parser of untrusted input (Sources/RehostFuzz), FUZZ_SECONDS each
# (default 120). Seeds: Tests/Fuzz/corpus (python3 Tests/Fuzz/make-corpus.py writes
# them); new inputs go to .build-fuzz/corpus, crashes to .build-fuzz/findings (Swift's
# own backtracer is off so that libFuzzer's handler saves the input).
FUZZ_TARGETS := header chunks seal manifest tar policy inventory share runbook journal backup-config repository chain keys
FUZZ_SECONDS ?= 120

fuzz-build:
	$(SWIFT) build -c release --sanitize=fuzzer --scratch-path .build-fuzz --product rehost-fuzz

fuzz: fuzz-build
	@mkdir -p .build-fuzz/findings; failed=""; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p .build-fuzz/corpus/$$t; \
	  echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
	  SWIFT_BACKTRACE=enable=no REHOST_FUZZ=$$t .build-fuzz/release/rehost-fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=0 -artifact_prefix=.build-fuzz/findings/$$t- \
	    .build-fuzz/corpus/$$t Tests/Fuzz/corpus/$$t > .build-fuzz/$$t.log 2>&1 \
	    || { failed="$$failed $$t"; tail -n 40 .build-fuzz/$$t.log; }; \
	  grep -h "^Done" .build-fuzz/$$t.log || true; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz findings in:$$failed (inputs in .build-fuzz/findings)"; exit 1; fi
# Snapshot, verify and restore a freshly made sample CA, showing each step.
demo: release
	scripts/demo.sh .build/release/rehost demo-out

# Throughput and peak memory against `tar | zstd -T0 -3 | age` on the corpus, nightly
# backups, `rehost check` against badkeys, and database snapshot and restore against the
# engines' own tools on a million rows.
bench: bench-deps
	bench/bench.sh .build/release/rehost
	bench/bench-nightly.sh .build/release/rehost
	bench/bench-checks.sh .build/release/rehost
	bench/bench-databases.sh .build/release/rehost

bench-databases: bench-deps
	bench/bench-databases.sh .build/release/rehost

bench-nightly: bench-deps
	bench/bench-nightly.sh .build/release/rehost

bench-checks: bench-deps
	bench/bench-checks.sh .build/release/rehost

bench-deps:
	$(MAKE) deps EXTRA_DEBS="$(BENCH_DEBS)"
	@python3 -c 'import badkeys' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check badkeys \
	  || python3 -m pip install -q --disable-pip-version-check --break-system-packages badkeys
	$(MAKE) release

# The man page and shell completions are generated from the command definitions.
man: release
	mkdir -p .build/man .build/completions
	.build/release/rehost --experimental-dump-help | python3 scripts/make-manpage.py > .build/man/rehost.1
	.build/release/rehost --generate-completion-script bash > .build/completions/rehost.bash
	.build/release/rehost --generate-completion-script zsh > .build/completions/_rehost
	.build/release/rehost --generate-completion-script fish > .build/completions/rehost.fish

install: release man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 .build/release/rehost $(DESTDIR)$(PREFIX)/bin/rehost
	install -m 0644 .build/man/rehost.1 $(DESTDIR)$(PREFIX)/share/man/man1/rehost.1
	install -m 0644 .build/completions/rehost.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/rehost
	install -m 0644 .build/completions/_rehost $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_rehost
	install -m 0644 .build/completions/rehost.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/rehost.fish

clean:
	rm -rf .build .build-fuzz demo-out
