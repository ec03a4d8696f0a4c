# chat: build, test and run. Building and running need only make and Node/npm:
# when no `deno` is on PATH, a pinned Deno is installed from the npm registry into
# .tools/ (ignored by git). `make test` needs more (tmux, openssl, util-linux,
# chromium): .ci/run installs them.

DENO_VERSION := 2.9.6
TOOLS        := .tools/deno-$(DENO_VERSION)
LOCAL_DENO   := $(TOOLS)/node_modules/deno/deno
DENO         ?= $(shell command -v deno 2>/dev/null || echo $(LOCAL_DENO))

# NAME, HOST and PORT count only when given on make's command line (make join
# NAME=Alice): the environment often has its own (WSL exports NAME, a PaaS PORT).
cmdline = $(if $(filter command line,$(origin $(1))),$($(1)))
NAME_ARG := $(call cmdline,NAME)
HOST_ARG := $(call cmdline,HOST)
PORT_ARG := $(call cmdline,PORT)
# More flags for `make serve` / `make join` (e.g. ARGS="--port 8000 --history 20").
ARGS ?=

# Where `make install` writes the `chat` launcher (a folder, ideally on PATH).
PREFIX ?= $(HOME)/.local/bin
# Absolute, relative to this checkout otherwise. Not with abspath, which splits a
# path with spaces ("/tmp/my bin") into two.
BINDIR = $(if $(filter /%,$(firstword $(PREFIX))),$(PREFIX),$(CURDIR)/$(PREFIX))
# The launcher runs this checkout with the Deno above, by absolute paths, so that it
# works from any folder and without deno on PATH.
DENO_ABS := $(if $(filter /%,$(DENO)),$(DENO),$(if $(findstring /,$(DENO)),$(abspath $(DENO)),$(shell command -v $(DENO) 2>/dev/null)))
# The recipes quote paths with ', so a path with one is refused (checked by make, not the shell).
NO_QUOTE = $(if $(findstring ',$(CURDIR)$(DENO_ABS)$(BINDIR)),\
	echo "make: cannot install from or into a path with a ' in it" >&2; exit 1)
# Its second line, by which `make install` and `make uninstall` know a launcher of ours.
LAUNCHER_MARK := \# chat launcher written by make install

# Run chat as the executables run it: with the "chat" permission set of deno.json
# (the one place permissions are defined) and no prompts. -q hides deno's notice
# that permission sets in deno.json are experimental.
RUN         := run -q --permission-set=chat --no-prompt
# Test files for `make test` (default: all of them, and the examples in lib/'s doc comments).
FILES ?=
TEST_PERMS  := --allow-net --allow-env --allow-run --allow-read --allow-write --allow-sys
BUILD_PERMS := --allow-read --allow-write --allow-run --allow-env
# A release tag for `make dist` to check against deno.json's version (v1.2.3).
TAG ?=

# The compiled executable `make test-exe` tests.
CHAT_EXE ?= dist/chat

.PHONY: all deno serve join install uninstall test check fmt page compile dist test-exe bench-startup bench-upkeep clean

all: check test

# The npm package "deno" ships the official binary in a per-platform optional
# dependency; its postinstall links it to node_modules/deno/deno.
$(LOCAL_DENO):
	@echo "make: no deno on PATH; installing deno@$(DENO_VERSION) from npm into $(TOOLS)" >&2
	@mkdir -p $(TOOLS)
	npm install --silent --no-save --no-package-lock --no-audit --no-fund \
		--prefix $(TOOLS) deno@$(DENO_VERSION)
	@test -x $(LOCAL_DENO) || { echo "make: deno was not installed at $(LOCAL_DENO)" >&2; exit 1; }
	@touch $(LOCAL_DENO)

deno: $(if $(filter $(LOCAL_DENO),$(DENO)),$(LOCAL_DENO))
	@$(DENO) --version | head -1
	@$(if $(and $(filter deno,$(MAKECMDGOALS)),$(filter $(LOCAL_DENO),$(DENO))),\
		echo 'To type deno (as some README commands do): export PATH="$(CURDIR)/$(dir $(LOCAL_DENO)):$$PATH"')

serve: deno
	$(DENO) $(RUN) main.ts serve $(if $(HOST_ARG),--host $(HOST_ARG)) $(if $(PORT_ARG),--port $(PORT_ARG)) $(ARGS)

join: deno
	$(DENO) $(RUN) main.ts join $(if $(NAME_ARG),--name $(NAME_ARG)) $(if $(HOST_ARG),--host $(HOST_ARG)) $(if $(PORT_ARG),--port $(PORT_ARG)) $(ARGS)

# A `chat` command for this checkout: a shell script in $(PREFIX) that runs main.ts
# as the executables run it (`deno install -g` would drop --permission-set and call
# whatever `deno` is on PATH). It refuses to replace a `chat` that is not ours.
install: deno
	@$(NO_QUOTE)
	@test -n '$(DENO_ABS)' || { echo "make: cannot find $(DENO)" >&2; exit 1; }
	@if [ -e '$(BINDIR)/chat' ] && ! sed -n 2p '$(BINDIR)/chat' | grep -q '^$(LAUNCHER_MARK) '; then \
		echo "make: $(BINDIR)/chat exists and is not a launcher of make install; remove it or set PREFIX=DIR" >&2; \
		exit 1; fi
	@$(DENO) cache -q --config '$(CURDIR)/deno.json' '$(CURDIR)/main.ts'
	@mkdir -p '$(BINDIR)'
	@printf '%s\n' '#!/bin/sh' '$(LAUNCHER_MARK) in $(CURDIR)' \
		"exec '$(DENO_ABS)' $(RUN) --config '$(CURDIR)/deno.json' '$(CURDIR)/main.ts' \"\$$@\"" \
		> '$(BINDIR)/chat.tmp'
	@chmod 755 '$(BINDIR)/chat.tmp'
	@mv -f '$(BINDIR)/chat.tmp' '$(BINDIR)/chat'
	@echo "installed $(BINDIR)/chat (runs $(CURDIR)/main.ts with $(DENO_ABS))"
	@case ":$$PATH:" in *':$(BINDIR):'*) ;; *) \
		echo "make: warning: $(BINDIR) is not on your PATH; add it, or run $(BINDIR)/chat" >&2;; esac

# Removes the launcher of `make install` from $(PREFIX), and nothing that is not ours.
uninstall:
	@$(NO_QUOTE)
	@if [ ! -e '$(BINDIR)/chat' ]; then echo "make: no $(BINDIR)/chat to remove"; \
	elif sed -n 2p '$(BINDIR)/chat' | grep -q '^$(LAUNCHER_MARK) '; then \
		rm -f '$(BINDIR)/chat' && echo "removed $(BINDIR)/chat"; \
	else echo "make: $(BINDIR)/chat is not a launcher of make install; left it alone" >&2; exit 1; fi

test: deno
	$(DENO) test $(TEST_PERMS) $(if $(FILES),$(FILES),--doc lib/ tests/)

check: deno
	$(DENO) fmt --check
	$(DENO) lint
	$(DENO) check main.ts lib/ tests/ tools/ bench/
	$(DENO) check --config lib/web/page/check.json lib/web/page/app.js

fmt: deno
	$(DENO) fmt

# lib/web/page_files.ts from the web page's files in lib/web/page/: after changing them.
page: deno
	$(DENO) run -RW tools/gen_page.ts
	$(DENO) fmt -q lib/web/page_files.ts

# dist/chat for this machine. deno compile downloads the runtime it wraps the
# program in; DENORT_BIN=/path/to/denort uses a given one instead.
compile: deno
	$(DENO) run $(BUILD_PERMS) tools/build.ts compile

# dist/chat-<version>-<target>[.exe] for every target, and dist/SHA256SUMS.
dist: deno
	@$(DENO) --version | grep -q '^deno $(DENO_VERSION) ' || \
		echo "make: warning: building with $$($(DENO) --version | head -1), not deno $(DENO_VERSION)" >&2
	$(DENO) run $(BUILD_PERMS) tools/build.ts dist $(if $(TAG),--tag $(TAG))

# The tests that run chat as a user would (version, help, permissions), run
# against the compiled $(CHAT_EXE) instead of main.ts. Builds dist/chat first
# unless CHAT_EXE names another executable.
test-exe: deno $(if $(filter dist/chat,$(CHAT_EXE)),compile)
	CHAT_EXE=$(CHAT_EXE) $(DENO) test $(TEST_PERMS) tests/version_test.ts tests/permissions_test.ts

# What keeping --data in shape costs (issue 15): the longest pruning step and the
# time of chat backup, for 200,000 messages in 10 rooms.
bench-upkeep: deno
	$(DENO) run -A bench/upkeep.ts 200000 10

# Start-up times of `chat --version` and `chat join` (hyperfine when installed).
bench-startup: deno
	DENO=$(DENO) bench/startup.sh

clean:
	rm -rf dist coverage

# Load benchmarks of `chat serve` (issue 5): a spawned server on 127.0.0.1 driven
# by bench/load.ts; one JSON line per run on stdout, progress on stderr. The set and
# how to read it: docs/PERFORMANCE.md (`make soak`: delivery under faults, below).
# BENCH_ARGS adds flags to every run (e.g. --workers 3); BENCH_SERVER_ARGS passes
# flags to the spawned server.
BENCH             = $(DENO) run -A bench/load.ts --spawn $(BENCH_ARGS) \
	$(foreach a,$(BENCH_SERVER_ARGS),--server-arg=$(a))
BENCH_ARGS        ?=
BENCH_SERVER_ARGS ?=

.PHONY: bench bench-smoke bench-rooms bench-store soak

# The soak run of end-to-end delivery (issue 15, bench/soak.ts): members drop
# silently and resume while messages flow, without and with --data; fails when a
# member missed or was shown twice a message. SOAK_ARGS="--duration 60" shortens it.
SOAK_ARGS ?=
soak: deno
	@$(DENO) run -A bench/soak.ts $(SOAK_ARGS); plain=$$?; \
		$(DENO) run -A bench/soak.ts --data $(SOAK_ARGS) && exit $$plain

bench: deno
	@$(BENCH) --label fanout-500 --workload fanout --members 500 --senders 50 --rate 10 --duration 10
	@$(BENCH) --label fanout-100 --workload fanout --members 100 --senders 10 --rate 10 --duration 10
	@$(BENCH) --label fanout-500-ws --transport ws --workload fanout --members 500 --senders 50 --rate 10 --duration 10
	@$(BENCH) --label fanout-500-ws-batch --transport ws-batch --workload fanout --members 500 --senders 50 --rate 10 --duration 10
	@$(BENCH) --label saturation-100 --workload saturation --members 100 --senders 10 --window 16 --duration 10
	@$(BENCH) --label slow-none --workload fanout --members 100 --senders 10 --rate 50 --size 1000 --duration 20
	@$(BENCH) --label slow-one --workload fanout --members 100 --senders 10 --rate 50 --size 1000 --duration 20 --stalled 1
	@$(BENCH) --label idle-5000 --workload idle --connections 5000 --duration 10
	@$(BENCH) --label idle-10000 --workload idle --connections 10000 --duration 10 --setup-timeout 300
	@$(BENCH) --label storm-1000 --workload storm --connections 1000 --duration 10
	@$(BENCH) --label tls-rt --tls --workload saturation --members 1 --senders 1 --window 1 --workers 1 --duration 10
	@$(BENCH) --label tls-saturation-10 --tls --workload saturation --members 10 --senders 2 --window 16 --duration 10
	@$(BENCH) --label tls-idle-1000 --tls --workload idle --connections 1000 --duration 10
	@$(BENCH) --label tls-storm-300 --tls --workload storm --connections 300 --duration 20
	@rm -rf .bench-data
	@$(BENCH) --label fanout-100-data --workload fanout --members 100 --senders 10 --rate 10 --duration 10 --server-arg=--data --server-arg=.bench-data/fanout
	@$(BENCH) --label saturation-100-data --workload saturation --members 100 --senders 10 --window 16 --duration 10 --server-arg=--data --server-arg=.bench-data/saturation
	@# Group commit (issue 15): 10 members all sending, so that the store is what is measured.
	@$(BENCH) --label saturation-10 $(SATURATION_10)
	@$(BENCH) --label saturation-10-data $(SATURATION_10) --server-arg=--data --server-arg=.bench-data/saturation-10
	@rm -rf .bench-data
	@# Delivery (issue 15): what the windows of members that acknowledge cost, and replay times.
	@$(BENCH) --label fanout-100-acks --workload fanout --members 100 --senders 10 --rate 10 --duration 10 --acks
	@$(DENO) run -A bench/replay.ts

# Rooms against one room (issue 13), alternating so that each round shares the
# machine's conditions: 1,000 users in 150 rooms of 20 (3 each), 300 messages/s; one
# room of the same 1,000 connections and 6,000 deliveries/s; one room of 20 with the
# same messages and deliveries; and the first two against the floor, a server with
# none of chat's code (bench/floor_server.ts): what any Deno server pays here.
# BENCH_ROUNDS rounds (default 3); see docs/PERFORMANCE.md.
BENCH_ROUNDS ?= 3
ROOMS_150X20 = --workload rooms --members 1000 --rooms 150 --rooms-per-member 3 --senders 150 --rate 2 --duration 10
ONE_ROOM_1000 = --workload fanout --members 1000 --senders 6 --rate 1 --duration 10

bench-rooms: deno
	@for i in $$(seq $(BENCH_ROUNDS)); do \
	  $(BENCH) --quiet --label rooms-150x20 $(ROOMS_150X20) && \
	  $(BENCH) --quiet --label one-room-1000 $(ONE_ROOM_1000) && \
	  $(BENCH) --quiet --label one-room-20 --workload fanout --members 20 --senders 20 --rate 15 --duration 10 && \
	  $(BENCH) --quiet --label floor-rooms-150x20 --server-main bench/floor_server.ts $(ROOMS_150X20) && \
	  $(BENCH) --quiet --label floor-one-room-1000 --server-main bench/floor_server.ts $(ONE_ROOM_1000) || exit 1; \
	done

# Group commit against its floor (issue 15), alternating: saturation-10 without and
# with --data; then the same against bench/floor_store_server.ts, a server with none
# of chat's code, without a store, with SQLite kept as chat keeps it (the same
# guarantee: sent once the commit's fsync is done), and with the least a durable
# store can do (--keep file: a line a message, appended, and an fdatasync).
# BENCH_ROUNDS rounds (default 3); see docs/PERFORMANCE.md.
SATURATION_10 = --workload saturation --members 10 --senders 10 --window 16 --duration 10
FLOOR_STORE   = --server-main bench/floor_store_server.ts $(SATURATION_10)

bench-store: deno
	@rm -rf .bench-data; for i in $$(seq $(BENCH_ROUNDS)); do \
	  $(BENCH) --quiet --label saturation-10 $(SATURATION_10) && \
	  $(BENCH) --quiet --label saturation-10-data $(SATURATION_10) --server-arg=--data --server-arg=.bench-data/chat-$$i && \
	  $(BENCH) --quiet --label floor-saturation-10 $(FLOOR_STORE) && \
	  $(BENCH) --quiet --label floor-saturation-10-data $(FLOOR_STORE) --server-arg=--data --server-arg=.bench-data/floor-$$i && \
	  $(BENCH) --quiet --label floor-saturation-10-file $(FLOOR_STORE) --server-arg=--data --server-arg=.bench-data/file-$$i --server-arg=--keep --server-arg=file || exit 1; \
	done; rm -rf .bench-data

# A seconds-long run of each kind of workload, so that the generator keeps working;
# fails when a run delivers nothing, loses messages or cannot register its users.
bench-smoke: deno
	$(DENO) check bench/
	$(BENCH) --quiet --strict --workload fanout --members 20 --senders 4 --rate 5 --duration 2
	$(BENCH) --quiet --strict --workload fanout --members 20 --senders 4 --rate 5 --duration 2 --acks
	$(BENCH) --quiet --strict --transport ws --workload fanout --members 20 --senders 4 --rate 5 --duration 2
	$(BENCH) --quiet --strict --workload saturation --members 10 --senders 2 --window 4 --duration 1
	rm -rf .bench-data; $(BENCH) --quiet --strict --server-main bench/floor_store_server.ts --workload saturation --members 10 --senders 2 --window 4 --duration 1 --server-arg=--data --server-arg=.bench-data/floor; status=$$?; rm -rf .bench-data; exit $$status
	$(BENCH) --quiet --strict --workload idle --connections 50 --duration 1
	$(BENCH) --quiet --strict --tls --workload saturation --members 4 --senders 2 --window 4 --duration 1
	$(BENCH) --quiet --workload storm --connections 50 --duration 5
