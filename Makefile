# islet — the two commands of README.md: `make demo` and `make test`.
SWIFT   ?= swift
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
	python3 -m unittest discover -s Tests/testbed/standins -p 'test_*.py'
	Tests/testbed/selftest

# swift-format with the repository's .swift-format, then shellcheck over every script.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift
	shellcheck -S warning $$(find stacks -name '*.sh') stacks/gitea/templates/gitea-api.sh Tests/testbed/testbed Tests/testbed/selftest Tests/testbed/bundle \
		Tests/testbed/standins/build Tests/testbed/standins/install-os Tests/testbed/standins/real-containerd-pull \
		scripts/install-dependencies

# Brings up the whole platform on $(NODES) simulated nodes (node1 the infrastructure node with the registry and
# Gitea, node2 the control plane, the rest workers), with one application (the seed's my-go): the testbed's
# bundle of stand-ins, `islet apply` over SSH, then a second plan that has nothing to do, then what a team needs.
# `make demo-down` stops the nodes.
NODES ?= 4
DEMO_APP := {name: my-go, image: "registry.islet.internal:5000/platform/my-go:1.0.0", port: 8080, replicas: 1, updateStrategy: semver, allowTags: ""}
demo: build
	$(TESTBED) up $(NODES)
	$(TESTBED) inventory --control-planes 1 --out $(DEMO)/inventory.yaml
	printf 'settings:\n  apps:\n    - %s\n' '$(DEMO_APP)' >> $(DEMO)/inventory.yaml
	Tests/testbed/bundle -i $(DEMO)/inventory.yaml -o $(DEMO)/bundle --islet $(ISLET)
	$(ISLET) apply -i $(DEMO)/inventory.yaml --bundle $(DEMO)/bundle --yes
	$(ISLET) plan -i $(DEMO)/inventory.yaml --bundle $(DEMO)/bundle --detailed-exitcode
	@echo "The platform is up. What a team needs (secrets with --show-secrets):"
	@$(ISLET) output -i $(DEMO)/inventory.yaml --stacks stacks | grep -E 'PUSH|IMAGE|repository|argocd/release' || true
	@echo "Registry authority (trust it to push): $(DEMO)/.islet/registry-ca.crt"
	@echo "Admin kubeconfig: $(DEMO)/.islet/kubeconfig. Try: $(TESTBED) exec 2 -- kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes"
	@echo "'make demo-down' stops the nodes."

demo-down:
	$(TESTBED) down
	rm -rf $(DEMO)

# The release binary as $(PREFIX)/bin/islet and the stacks as $(PREFIX)/share/islet/stacks, where islet
# looks for them last (README: "Where islet finds its stacks"). DESTDIR is prepended for packaging.
# The Swift runtime linked in: the binary runs where no Swift toolchain is (a bundle carries it to the site).
install:
	$(SWIFT) build -c release --static-swift-stdlib
	$(MAKE) install-files BINARY=.build/release/islet

# The copy alone, of an already built $(BINARY) (the end-to-end test installs the binary under test this way).
# Old stacks are removed first, so a stack deleted from the source does not linger in the installed set.
install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/islet
	install -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/bin/islet
	rm -rf $(DESTDIR)$(PREFIX)/share/islet/stacks
	cp -R --no-preserve=ownership stacks $(DESTDIR)$(PREFIX)/share/islet/stacks
