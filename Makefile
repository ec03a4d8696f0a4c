# chat: build, test and run. Needs only make and Node/npm: when no `deno` is on
# PATH, a pinned Deno is installed from the npm registry into .tools/ (ignored by git).

DENO_VERSION := 2.9.6
TOOLS        := .tools/deno-$(DENO_VERSION)
LOCAL_DENO   := $(TOOLS)/node_modules/deno/deno
DENO         ?= $(shell command -v deno 2>/dev/null || echo $(LOCAL_DENO))

NAME ?=
HOST ?=
PORT ?=

RUN_PERMS  := --allow-net --allow-env --allow-sys=networkInterfaces,hostname
TEST_PERMS := --allow-net --allow-env --allow-run --allow-read --allow-write --allow-sys

.PHONY: all deno serve join test check fmt clean

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

serve: deno
	$(DENO) run $(RUN_PERMS) main.ts serve $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

join: deno
	$(DENO) run $(RUN_PERMS) main.ts join $(if $(NAME),--name $(NAME)) $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

test: deno
	$(DENO) test $(TEST_PERMS)

check: deno
	$(DENO) fmt --check
	$(DENO) lint
	$(DENO) check main.ts lib/ tests/

fmt: deno
	$(DENO) fmt

clean:
	rm -rf dist coverage
