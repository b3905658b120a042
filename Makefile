# islet — the two commands of README.md: `make demo` and `make test`.
SWIFT   ?= swift
NODES   ?= 3
ISLET   := .build/debug/islet
TESTBED := Tests/testbed/testbed
DEMO    := .demo

.PHONY: deps build test demo demo-down lint

deps:
	@scripts/install-dependencies

build: deps
	$(SWIFT) build

# Unit tests, end-to-end tests of the real binary over real SSH to testbed nodes, the testbed's self-test.
test: build lint
	$(SWIFT) test
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
