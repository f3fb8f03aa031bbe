# Reciprocity: the two commands of the README, and their parts.
#
#   make devnet   run a local network of club nodes (arrives with the node, issue 3)
#   make test     every test in the workspace, plus format and lint checks
#
# Everything the build needs is installed by `make deps` (called by `test`):
# today that is only a check that the Rust toolchain has rustfmt and clippy.

CARGO ?= cargo
CARGO_FLAGS ?= --locked

.PHONY: test deps fmt-check lint unit-tests doc-tests bench devnet fmt

test: deps fmt-check lint unit-tests doc-tests

deps:
	@command -v $(CARGO) >/dev/null || { echo "make deps: cargo is not installed (install Rust 1.95+ with rustup)" >&2; exit 1; }
	@$(CARGO) fmt --version >/dev/null 2>&1 || { echo "make deps: rustfmt is missing (rustup component add rustfmt)" >&2; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || { echo "make deps: clippy is missing (rustup component add clippy)" >&2; exit 1; }

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
bench:
	$(CARGO) bench $(CARGO_FLAGS) -p reciprocity-tests --bench apply_block

fmt:
	$(CARGO) fmt --all

devnet:
	@echo "make devnet: not available yet. The local network of club nodes arrives with the" >&2
	@echo "node binary \`recip\` (issue 3, 'The ledger node'); this repository holds the" >&2
	@echo "chaincode, wire format, SDK and network config it will run." >&2
	@exit 1
