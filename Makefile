# islet — the two commands of README.md: `make demo` and `make test`.
SWIFT   ?= swift
NODES   ?= 3
ISLET   := .build/debug/islet
TESTBED := Tests/testbed/testbed
DEMO    := .demo
PREFIX  ?= /usr/local
DESTDIR ?=
# The binary `install-files` copies; `install` builds it first.
BINARY  ?= .build/release/islet

.PHONY: deps build test demo demo-down lint install install-files

deps:
	@scripts/install-dependencies

build: deps
	$(SWIFT) build

# Unit tests, end-to-end tests of the real binary over real SSH to testbed nodes, the testbed's self-test.
# Tests that measure the process's own memory run alone afterwards: other suites share the process.
MEMORY_TESTS := streamsA64MiBFileWithoutHoldingItInMemory
test: build lint
	$(SWIFT) test --skip '$(MEMORY_TESTS)'
	$(SWIFT) test --skip-build --filter '$(MEMORY_TESTS)'
	Tests/testbed/selftest

# swift-format with the repository's .swift-format, then shellcheck over every script.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift
	shellcheck -S warning $$(find stacks -name '*.sh') Tests/testbed/testbed Tests/testbed/selftest scripts/install-dependencies

# Brings up $(NODES) simulated nodes, applies the stacks to them over SSH, then shows that a second plan
# has nothing to do. `make demo-down` stops the nodes.
demo: build
	$(TESTBED) up $(NODES)
	$(TESTBED) inventory --out $(DEMO)/inventory.yaml
	$(ISLET) apply -i $(DEMO)/inventory.yaml --stacks stacks --yes
	$(ISLET) plan -i $(DEMO)/inventory.yaml --stacks stacks --detailed-exitcode
	@echo "Demo nodes are up: try '$(ISLET) status -i $(DEMO)/inventory.yaml --refresh'; 'make demo-down' stops them."

demo-down:
	$(TESTBED) down

# The release binary as $(PREFIX)/bin/islet and the stacks as $(PREFIX)/share/islet/stacks, where islet
# looks for them last (README: "Where islet finds its stacks"). DESTDIR is prepended for packaging.
install:
	$(SWIFT) build -c release
	$(MAKE) install-files BINARY=.build/release/islet

# The copy alone, of an already built $(BINARY) (the end-to-end test installs the binary under test this way).
# Old stacks are removed first, so a stack deleted from the source does not linger in the installed set.
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/islet
	install -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/bin/islet
	rm -rf $(DESTDIR)$(PREFIX)/share/islet/stacks
	cp -R --no-preserve=ownership stacks $(DESTDIR)$(PREFIX)/share/islet/stacks
