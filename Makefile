# pcap-dissect: the two README commands (`make demo`, `make test`) and the long-running suites.
# Works on a fresh Debian 12 / Python 3.11 machine as root (or with sudo for the system packages).

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip
DISSECT = $(VENV)/bin/dissect
SAMPLES = $(sort $(wildcard samples/*/*.pcap samples/*/*.pcapng samples/*/*.pcap.gz))
DEMO_OUT ?= demo-out

# System packages the tests need: tshark/dumpcap (oracle + live capture), tcpdump, the real
# protocol peers used to re-create samples and by the live test (swaks, net-snmp, nginx, curl),
# and Debian's chromium for the report's browser test.
APT_TEST_PKGS = tshark tcpdump swaks snmpd snmptrapd snmp nginx-light curl chromium chromium-driver hashcat pocl-opencl-icd ocl-icd-libopencl1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help venv demo test test-fast deps-system bench fuzz samples docs clean

help:
	@echo "make demo   - create .venv, install, analyse samples/, write $(DEMO_OUT)/report.html, print a summary"
	@echo "make test   - install test requirements (tshark, chromium, ...) and run the whole suite"
	@echo "make bench  - benchmarks (throughput, peak memory) vs tshark and dpkt"
	@echo "make fuzz   - time-bounded coverage-guided fuzzing of every parser (FUZZ_SECONDS=60 each)"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV) || { $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	@touch $@

venv: $(VENV)/.installed
	@chmod 600 samples/snmp/keys.toml 2>/dev/null || true   # git keeps no 0600; a readable keys file is warned about

demo: venv
	@mkdir -p $(DEMO_OUT)
	$(DISSECT) summary $(SAMPLES)
	$(DISSECT) report $(SAMPLES) -o $(DEMO_OUT)/report.html --snmp-keys samples/snmp/keys.toml
	$(DISSECT) export $(SAMPLES) -o $(DEMO_OUT)/tables --format csv --snmp-keys samples/snmp/keys.toml
	@echo "Report: $(DEMO_OUT)/report.html   Tables: $(DEMO_OUT)/tables/"

deps-system:
	@missing=""; for p in $(APT_TEST_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | $(SUDO) debconf-set-selections; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: deps-system venv
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-fast: venv
	$(PY) -m pytest -q -x -p no:cacheprovider -m "not slow and not browser and not live" $(PYTEST_ARGS)

bench: deps-system venv
	$(PY) bench/run.py $(BENCH_ARGS)

fuzz: venv
	$(PIP) install -q -e '.[fuzz]'
	$(PY) fuzz/run.py --seconds $${FUZZ_SECONDS:-60}

samples: deps-system venv
	$(PY) samples/make_all.py

docs: venv
	$(PY) -m dissect.schema > docs/tables.md

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache build *.egg-info test-artifacts
