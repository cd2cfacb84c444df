# The two commands a new user needs:
#   make train   install what is missing, build, train the default model on the built-in MNIST
#   make test    run the test suite
# Extra flags for train: make train ARGS="--model mlp"

SHELL := /bin/bash
SRC := $(shell find src -name '*.ts')
STAMP := node_modules/.package-lock.json

.PHONY: all install build train test test-faults test-package typecheck lint bench clean schema

all: build

# npm ci installs exactly the lockfile; its prepare step compiles src/ into dist/.
# Dependencies' install scripts: package.json's allowScripts denies all four (none is needed;
# onnxruntime-node's would download its CUDA provider). npm before 11 ignores allowScripts and runs
# them: ONNXRUNTIME_NODE_INSTALL=skip keeps that download off there too.
$(STAMP): package.json package-lock.json
	ONNXRUNTIME_NODE_INSTALL=skip npm ci
	@touch $@
	@# npm ci's prepare step has just compiled src/, so dist/ is current.
	@if [ -f dist/cli/main.js ]; then touch dist/cli/main.js; touch -c dist/cli/help-*.txt; fi

install: $(STAMP)

dist/cli/main.js: $(STAMP) $(SRC) tsconfig.json
	npx tsc -p tsconfig.json
	@touch $@
	@# train --help's text, saved so that printing it needs no yargs (src/cli/help_cache.ts).
	node tools/write_help.mjs

build: dist/cli/main.js

train: build
	node bin/train.js $(ARGS)

typecheck: $(STAMP)
	npx tsc -p tsconfig.test.json

# typescript-eslint (every promise awaited or marked void; function lengths, eslint.config.js) and
# Prettier's check of the code's format (.prettierrc.json). npm run lint is the same command.
lint: $(STAMP)
	npm run --silent lint

test: build typecheck
	npm test

# Fault tests: 20+ SIGKILLs at random points, each resumed, and Ctrl-C (about a minute).
test-faults: build
	@# --test-force-exit: a test file whose tests all ended exits even if a handle of its own is left open (the queue fault file has been seen to linger after its last test passed)
	node --import tsx --test --test-force-exit test/faults/*.test.ts

# The package as a user gets it (about a minute): npm pack a copy of the checkout, install the
# tarball into an empty folder, train, eval and import the library there (test/package/).
test-package: $(STAMP)
	node --import tsx --test test/package/*.test.ts

# Speed figures, printed (never asserted in tests): engines and training beside the numpy peers
# in ../shared/peers (where numpy is installed), sweep throughput 1 vs N workers, and memory
# across a 20-epoch MNIST run (flat from epoch 2 means no leak), and the kNN distance matrix beside
# knn_numpy.py; the update-rule steps beside cs231n optim.py in numpy (bench/optim_peer.py).
bench: build
	node --import tsx bench/train.ts
	node --import tsx bench/sweep.ts
	node --import tsx bench/sweep.ts --mode queue
	node --import tsx bench/sweep.ts --mode tiny --rounds 1
	node --import tsx bench/memory.ts
	node --import tsx bench/features.ts
	node --import tsx bench/knn.ts
	node --import tsx bench/optim.ts

# configs/config.schema.json from the config table (test/schema.test.ts fails when it is stale).
schema: $(STAMP)
	npm run schema

clean:
	rm -rf dist
