# Reciprocity: the two commands of the README, and their parts.
#
#   make devnet   run a local network of club nodes with sample data
#   make test     every test in the workspace, plus format and lint checks
#
# Everything the build needs is installed by `make deps` (called by both):
# the bundled RocksDB build needs libclang (Debian `libclang-dev`), the
# peer benchmark etcd (Debian `etcd-server`) and the browser tests Debian's
# `chromium` and the npm packages pinned in tests/browser/package-lock.json
# (playwright-core, axe-core; no browser download), each only when missing.
# The first RocksDB build takes about 15-20 minutes on a 2-core machine;
# later builds reuse $(CARGO_TARGET_DIR), ~/.cache/reciprocity/target by
# default (see below), not the clone's target/.

CARGO ?= cargo
CARGO_FLAGS ?= --locked
# One build directory for every clone and command on this machine, so that
# RocksDB is compiled once (override to build elsewhere).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/reciprocity/target

.PHONY: test deps postgres fmt-check lint unit-tests doc-tests bench bench-desk peers devnet fmt

test: deps postgres fmt-check lint unit-tests doc-tests

deps:
	@missing=; \
	if command -v dpkg >/dev/null; then \
	  dpkg -s libclang-dev >/dev/null 2>&1 || missing="$$missing libclang-dev"; \
	  dpkg -s etcd-server >/dev/null 2>&1 || missing="$$missing etcd-server"; \
	  dpkg -s chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	  dpkg -s poppler-utils >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing (libclang: RocksDB's bindings; etcd: the peer benchmark; chromium: the browser tests; poppler-utils: the card PDF's rendering in them)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null || { echo "make deps: could not install$$missing" >&2; exit 1; }; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "make deps: cargo is not installed (install Rust 1.95+ with rustup)" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || { echo "make deps: rustfmt is missing (rustup component add rustfmt)" >&2; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || { echo "make deps: clippy is missing (rustup component add clippy)" >&2; exit 1; }
	@command -v npm >/dev/null || { echo "make deps: npm is missing (Node.js 20 with npm runs the browser tests)" >&2; exit 1; }
	@if [ ! -f tests/browser/node_modules/.package-lock.json ] || ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.package-lock.json.installed; then \
	  echo "make deps: installing the browser tests' npm packages (tests/browser/package-lock.json)"; \
	  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null && \
	  cp tests/browser/package-lock.json tests/browser/node_modules/.package-lock.json.installed; \
	fi

# The index tests run against a real PostgreSQL: reuse one answering on
# 127.0.0.1:5432, else start the machine's cluster (creating it if missing),
# else install Debian's. A server installed here gets password "postgres"
# for the tests' login. Pointing RECIP_TEST_POSTGRES_URL elsewhere skips this.
export RECIP_TEST_POSTGRES_URL ?= postgres://postgres:postgres@127.0.0.1:5432/postgres
postgres:
	@case "$$RECIP_TEST_POSTGRES_URL" in *@127.0.0.1:5432/*) ;; *) exit 0;; esac; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	installed=; \
	if ! command -v pg_ctlcluster >/dev/null; then \
	  echo "make postgres: installing PostgreSQL"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql >/dev/null || { echo "make postgres: could not install postgresql (as root, or with passwordless sudo)" >&2; exit 1; }; \
	  installed=1; \
	fi; \
	if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
	  version=$$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sed 's|/usr/lib/postgresql/||; s|/bin/postgres||' | sort -n | tail -1); \
	  [ -n "$$version" ] || { echo "make postgres: no PostgreSQL server binaries under /usr/lib/postgresql" >&2; exit 1; }; \
	  pg_lsclusters 2>/dev/null | grep -q "^$$version *main " || $$SUDO pg_createcluster $$version main >/dev/null; \
	  echo "make postgres: starting PostgreSQL $$version"; \
	  $$SUDO pg_ctlcluster $$version main start || { echo "make postgres: pg_ctlcluster $$version main start failed" >&2; exit 1; }; \
	  for i in $$(seq 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done; \
	  pg_isready -q -h 127.0.0.1 -p 5432 || { echo "make postgres: PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }; \
	fi; \
	if [ -n "$$installed" ]; then \
	  $$SUDO -u postgres psql -q -c "ALTER USER postgres PASSWORD 'postgres'" >/dev/null 2>&1 || \
	  su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null; \
	fi

fmt-check:
	$(CARGO) fmt --all --check

lint:
	$(CARGO) clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings

# Unit, integration and property tests; benchmarks run once as smoke tests.
unit-tests:
	$(CARGO) test $(CARGO_FLAGS) --workspace --all-targets

doc-tests:
	$(CARGO) test $(CARGO_FLAGS) --workspace --doc

# The full benchmarks (optimized build); figures go to docs/BENCHMARKS.md.
# The front desk in a real browser against a running devnet (`make devnet`
# in another shell): the round trip from a card's code to the answer on
# screen, and the first load's bytes; one JSON line.
bench-desk: deps
	node tests/browser/bench-desk.mjs devnet/devnet.json 200

bench:
	$(CARGO) bench $(CARGO_FLAGS) -p reciprocity-tests --bench apply_block
	$(CARGO) bench $(CARGO_FLAGS) -p reciprocity-node --bench hot_paths

# Reciprocity against its peers in one run (optimized build): a 3-member
# etcd cluster and `recip-bench cluster` at 16 and 256 clients, pgbench -S, and the
# front-desk check when PEERS_CHECK_DIR names a seeded network (seeded on
# first use: 1M members). Prints JSON lines and the ratios.
PEERS_DURATION ?= 10
PEERS_CHECK_DIR ?=
peers: deps postgres
	$(CARGO) build $(CARGO_FLAGS) --release -p reciprocity-node --bin recip -p reciprocity-bench --bin recip-bench -p reciprocity-peers --bin peers
	$(CARGO_TARGET_DIR)/release/peers compare --recip $(CARGO_TARGET_DIR)/release/recip \
	  --bench $(CARGO_TARGET_DIR)/release/recip-bench \
	  --duration $(PEERS_DURATION) $(if $(PEERS_CHECK_DIR),--check-dir $(PEERS_CHECK_DIR))

fmt:
	$(CARGO) fmt --all

# A local network (data in ./devnet, kept across runs); Ctrl-C stops it.
# INDEX_URL=postgres://user@host:port keeps each club's index in PostgreSQL
# (one database per club, created if missing) instead of SQLite.
INDEX_URL ?=
devnet: deps
	$(CARGO) run $(CARGO_FLAGS) -p reciprocity-node --bin recip -- devnet --dir devnet $(if $(INDEX_URL),--index-url $(INDEX_URL))
