# rehost - see README.md. Every target works on a fresh Debian 12 machine as root
# (or with sudo): `deps` installs what is missing.

PREFIX ?= /usr/local
SWIFT  ?= swift
DEBS   := libarchive-dev libzstd-dev libssl-dev libsqlite3-dev libgmp-dev pkg-config zstd openssl openssh-client python3 python3-pip sqlite3
# The database tests start real servers from Debian's packages.
TEST_DEBS  := postgresql mariadb-server mariadb-client
BENCH_DEBS := age time gcc
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all setup deps test-deps build release test demo bench bench-checks bench-deps install clean

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
	@# bagit-python, the Library of Congress BagIt validator, checks our bags in the tests.
	@# (Debian's own python3 refuses pip installs without --break-system-packages, PEP 668.)
	@python3 -c 'import bagit' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check bagit \
	  || python3 -m pip install -q --disable-pip-version-check --break-system-packages bagit

setup: deps build

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test-deps:
	$(MAKE) deps EXTRA_DEBS="$(TEST_DEBS)"

# Unit tests and end-to-end tests of the real binary (built first), with real
# PostgreSQL and MariaDB servers started by the tests on Unix sockets in /tmp.
test: test-deps
	$(SWIFT) build
	$(SWIFT) test

# Snapshot, verify and restore a freshly made sample CA, showing each step.
demo: release
	scripts/demo.sh .build/release/rehost demo-out

# Throughput and peak memory against `tar | zstd -T0 -3 | age` on the corpus, then
# `rehost check` against badkeys on 100,000 generated keys.
bench: bench-deps
	bench/bench.sh .build/release/rehost
	bench/bench-checks.sh .build/release/rehost

bench-checks: bench-deps
	bench/bench-checks.sh .build/release/rehost

bench-deps:
	$(MAKE) deps EXTRA_DEBS="$(BENCH_DEBS)"
	@python3 -c 'import badkeys' 2>/dev/null || python3 -m pip install -q --disable-pip-version-check badkeys \
	  || python3 -m pip install -q --disable-pip-version-check --break-system-packages badkeys
	$(MAKE) release

install: release
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 .build/release/rehost $(DESTDIR)$(PREFIX)/bin/rehost

clean:
	rm -rf .build demo-out
