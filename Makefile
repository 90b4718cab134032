# microdtls: set-up, tests, demo and benchmarks on a Debian 12 host.
#
#   make setup    Debian packages (as root; otherwise prints the sudo line) + .venv/ + peers
#   make peers    the Mbed TLS 3.6 Connection ID peers (build/mbedtls36/, from Debian trixie)
#                 and the Botan ECDHE_PSK peer (build/botan/)
#   make test     the host test suite (PYTEST_ARGS="-k psk -x" passes options through)
#   make demo     the MicroPython client against a local openssl s_server (PSK, CCM_8)
#   make bench    tools/bench.py: build/bench.json and build/bench.png (BENCH_RUNS=N, default 15)
#   make soak     tools/soak.py: lossy-network sweep (10/20/30% loss, 100 seeds) and a
#                 10,000-record soak at 5% loss (about 12 min; build/soak-*.json)
#   make fuzz     tools/fuzz.py: 1,000,000 atheris inputs over four targets (FUZZ_ARGS=...)
#   make dist     .mpy of each package in dist/mpy/<package> (tools/build_dist.py) + make natmod
#   make clean    build output and caches; `make distclean` also removes .venv/

SHELL := /bin/bash
.DEFAULT_GOAL := test

# CPython 3.11 for the venv: the first python3.11 on PATH, else python3.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
STAMP := $(VENV)/.stamp
PYTEST_ARGS ?=
PYTEST_TIMEOUT ?= 600

# Debian packages: the DTLS peers (openssl, gnutls-bin, libcoap3-bin), unshare/nsenter/ip
# for the GnuTLS network namespace (util-linux, iproute2), the build tools PyPI DTLSSocket
# compiles tinydtls with (and Python headers), stdbuf (coreutils), python3-venv, tshark
# (decrypts test captures with a key log; installed without the setuid dumpcap), the ARM
# cross compiler for the armv6m/armv7emsp natmods, and Debian's Mbed TLS 2.28 headers/libs
# that the C module's mbedtls backend is built and tested against, Botan's library (the
# ECDHE_PSK + CCM peer; build_botan.sh fetches its headers), and strace for
# tools/server_time.py.
APT_PACKAGES := openssl gnutls-bin libcoap3-bin util-linux iproute2 coreutils \
	autoconf automake libtool build-essential python3-venv python3-dev tshark \
	gcc-arm-none-eabi libnewlib-arm-none-eabi libmbedtls-dev libbotan-2-19 qemu-user strace

.PHONY: setup system-packages peers test demo bench soak fuzz clean distclean natmod natmod-x64 firmware \
	dist

setup: system-packages $(STAMP) peers

# Mbed TLS 3.6 with RFC 9146 Connection ID is not in Debian 12: the script fetches trixie's
# static libraries into build/mbedtls36/ (private apt state, nothing installed) and compiles
# tests_host/servers/mbedtls_cid_{server,client}.c; later runs only recompile what changed.
# build_botan.sh compiles tests_host/servers/botan_psk_peer.cpp (RFC 8442 ECDHE_PSK + CCM).
peers: system-packages
	@sh tests_host/servers/build_botan.sh
	@sh tests_host/servers/build_mbedtls36.sh

# Installs only what is missing, so a second run costs one dpkg-query per package.
system-packages:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "make setup: needs the Debian packages:$$missing (no apt-get here)" >&2; exit 1; \
	fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "make setup: these Debian packages are missing:$$missing" >&2; \
		echo "Install them, then run make again:" >&2; \
		echo "    sudo apt-get install -y$$missing" >&2; \
		exit 1; \
	fi; \
	echo "make setup: installing Debian packages:$$missing"; \
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
	apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq$$missing

# The stamp is newer than requirements-test.txt once the venv holds exactly those pins.
$(STAMP): requirements-test.txt
	@test -n "$(PYTHON)" || { echo "make setup: no python3.11 or python3 on PATH" >&2; exit 1; }
	@if [ ! -x $(VENV)/bin/python ]; then \
		echo "make setup: creating $(VENV) with $(PYTHON)"; \
		$(PYTHON) -m venv $(VENV); \
	fi
	@$(VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
		|| { echo "make setup: $(VENV) is not CPython 3.11; remove it (make distclean)" >&2; exit 1; }
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements-test.txt
	@touch $@

test: setup dist
	$(VENV)/bin/pytest tests_host -ra --timeout=$(PYTEST_TIMEOUT) $(PYTEST_ARGS)

demo: setup
	@bash tools/demo.sh

bench: setup
	@if [ -f tools/bench.py ]; then \
		$(VENV)/bin/python tools/bench.py $(BENCH_ARGS); \
	else \
		echo "make bench: tools/bench.py is not written yet"; \
	fi

# The C crypto module (firmware/Makefile has the details and the other targets):
#   make natmod      dist/<arch>_6.3/_dtlscrypto.mpy for x64 (+ armv6m, armv7emsp with gcc-arm-none-eabi)
#   make firmware BOARD=ESP32_GENERIC|RPI_PICO_W|UNIX MPY_DIR=/path/to/micropython
natmod natmod-x64: setup
	@$(MAKE) --no-print-directory -C firmware $@

soak: setup
	@mkdir -p build
	$(VENV)/bin/python tools/soak.py sweep --json build/soak-sweep.json
	$(VENV)/bin/python tools/soak.py soak --json build/soak-records.json

fuzz: setup
	$(VENV)/bin/python tools/fuzz.py $(FUZZ_ARGS)

firmware:
	@$(MAKE) --no-print-directory -C firmware $@

# Packages (dtls, dtls-ecc, coap) compiled with mpy-cross, each with a package.json for
# `mpremote mip install dist/mpy/<package>/package.json`; the C module per arch as natmod.
dist: setup natmod
	$(VENV)/bin/python tools/build_dist.py

clean:
	rm -rf build dist .pytest_cache
	$(MAKE) --no-print-directory -C firmware clean
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
