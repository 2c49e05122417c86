# dma-buf P2P for VFIO and iommufd on Linux 6.12: the one entry point.
# FLAVOR=debug (KASAN, lockdep, kmemleak, UBSAN; the default) or FLAVOR=fast;
# FLAVOR=upstream make kernel builds the upstream 7.3 peer of make bench.

FLAVOR ?= debug
export FLAVOR
S := scripts

.PHONY: help setup tree kernel tests demo check models lint run bench bench-publish vmm-test compat-test series series-check base-test rig-selftest soak clean distclean

help: ## List the targets
	@echo "Targets (FLAVOR=$(FLAVOR); set FLAVOR=fast for a kernel without debug checkers):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-14s %s\n", $$1, $$2}'

setup: ## Install host packages and enable bookworm-backports
	@$(S)/setup-host.sh

tree: setup ## Unpack the base kernel, apply patches/, copy the overlay (work/linux)
	@$(S)/prepare-tree.sh

kernel: setup ## Build the kernel out of tree (work/build-$FLAVOR)
	@$(S)/build-kernel.sh

tests: kernel ## Build the selftests (base iommu and ours) as static binaries
	@$(S)/build-tests.sh

demo: tests ## Boot the VM and show the feature: devices, IOMMU groups, vfio, P2P
	@$(S)/vm.sh --profile vtd --name demo --timeout 600 --script $(S)/guest/demo.sh \
		--files "$(wildcard work/build-$(FLAVOR)/kselftest/p2p/*)"

check: ## Run every test (lint, rig, base iommufd, p2p); ends with "N passed, N failed, N skipped"
	@$(S)/run-tests.sh

models: ## make check with every device suite under every IOMMU model (VT-d, AMD-Vi, virtio-iommu)
	@P2P_MODELS_FULL=1 $(S)/run-tests.sh

lint: ## checkpatch --strict and kernel-doc on our files and patches
	@$(S)/lint.sh

rig-selftest: ## Test the console-log parser (failures and kernel reports fail a run)
	@python3 $(S)/test-parse-log.py

run: kernel ## Run CMD='...' in the VM with FILES='paths' in /opt/bin; prints output and status
	@test -n "$$CMD" || { echo "usage: make run CMD='command' [FILES='path ...'] [PROFILE=vtd|amdvi|virtio|novtd]"; exit 2; }
	@$(S)/vm.sh --profile $(or $(PROFILE),vtd) --name run --timeout $(or $(TIMEOUT),600) \
		--cmd "$$CMD" --files "$$FILES"

vmm-test: ## Nested: unmodified QEMU 11.1, 10.0 and 7.2 on our kernels (fast unless FLAVOR is given) give their guests P2P; control runs on the stock base
	@FLAVOR=$(if $(filter file,$(origin FLAVOR)),fast,$(FLAVOR)) $(S)/vmm-test.sh

compat-test: tests ## Kernel with iommufd's type1 compatible container: VFIO_IOMMU_MAP_DMA of a BAR gives revocable P2P
	@env -u BUILD FLAVOR=compat $(S)/build-kernel.sh
	@env -u BUILD FLAVOR=compat $(S)/vm.sh --profile vtd --name compat --timeout 900 \
		--script $(S)/guest/suite-devices.sh \
		--files "work/build-$(FLAVOR)/kselftest/p2p/compat_bar_va work/build-$(FLAVOR)/kselftest/p2p/rig_smoke"

bench: ## Benchmarks on our fast kernel and upstream 7.3 in the same VM (BENCH_REPS=5): table, work/bench/{ours,upstream}.csv, SVG plot
	@$(S)/bench.sh

bench-publish: ## Copy the last make bench plot to docs/p2p-bench.svg (linked from the README)
	@test -f work/bench/p2p-bench.svg || { echo "no work/bench/p2p-bench.svg: run make bench first"; exit 1; }
	mkdir -p docs
	cp work/bench/p2p-bench.svg docs/p2p-bench.svg
	@cat work/bench/table.md

# make soak SECONDS=3600: each fuzzer fuzzes that long (the harness also
# replays its regression seeds only in make check).
SECONDS ?= 600
KS := work/build-$(FLAVOR)/kselftest/p2p
soak: tests ## Fuzz for SECONDS (default 600) in each VM; prints total ops and results
	@rc=0; \
	$(S)/vm.sh --profile novtd --name soak-mock --timeout $$(($(SECONDS) + 900)) \
		--append "hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=256" --files "$(KS)/fuzz_mock" \
		--cmd ". /opt/lib.sh; hugepages 256; run_tap_within $$(($(SECONDS) + 600)) p2p/fuzz_mock /opt/bin/fuzz_mock -t fuzz --seconds=$(SECONDS)" || rc=1; \
	$(S)/vm.sh --profile vtd --name soak-devices --timeout $$(($(SECONDS) + 900)) --files "$(KS)/fuzz_devices" \
		--cmd ". /opt/lib.sh; for d in 0000:00:01.0 0000:00:02.0 0000:01:00.0 0000:03:00.0; do vfio_bind \$$d; done; run_tap_within $$(($(SECONDS) + 600)) p2p/fuzz_devices /opt/bin/fuzz_devices -t fuzz --seconds=$(SECONDS)" || rc=1; \
	grep -aho 'P2P-FUZZ-STATS.*' work/logs/soak-mock.log work/logs/soak-devices.log | \
		awk '{ print "[rig] " $$0; for (i = 1; i <= NF; i++) if ($$i ~ /^ops=/) { sub("ops=", "", $$i); ops += $$i } \
			if ($$0 ~ /result=pass/) p++; else f++ } \
			END { printf "[rig] soak: %d ops in total, %d fuzzers passed, %d failed\n", ops, p, f }'; \
	[ $$rc -eq 0 ] && echo "[rig] soak: no failure, no kernel report" || echo "[rig] soak: FAILED (see the VM logs in work/logs/soak-*.log)"; \
	exit $$rc

series: tree ## Write the series of series/series.list as git format-patch files into out/, and prove it applies
	@$(S)/series.sh

series-check: tree ## git am the series onto 6.12.117, .95 and .118; build every commit; checkpatch each (BASES='6.12.95 6.12.118')
	@$(S)/series-check.sh $(BASES)

base-test: ## Build the series on another Debian 6.12 base (BASE=6.12.95) and run the device suites there (MOCK=1: the mock suites too)
	@test -n "$(BASE)" || { echo "usage: make base-test BASE=6.12.N (e.g. 6.12.95 or 6.12.118)"; exit 2; }
	@P2P_BASE_MOCK=$(MOCK) $(S)/base-test.sh $(BASE)

clean: ## Remove build directories (keeps the unpacked tree and caches)
	rm -rf work/build-* work/vm work/logs work/results out

distclean: ## Remove everything the rig made in this checkout
	rm -rf work out
