# make demo   — set up and run `pulumi up` against the offline Zomro API emulator
# make test   — the whole test suite (unit, emulator, end-to-end with the real CLI)
.PHONY: demo test setup pulumi schema sdk sdk-nodejs plugin lint bench bench-quick soak demo-clean clean dist

demo:
	scripts/demo.sh

test:
	scripts/test.sh

setup:
	scripts/setup.sh

pulumi:
	scripts/ensure-pulumi.sh

# schema.json, the plugin's package schema, written from the field table
schema: setup
	.venv/bin/python -m zomro_pulumi.schema > schema.json

# sdk/nodejs, sdk/go, sdk/python: the SDKs, generated from schema.json
sdk: schema
	scripts/gen-sdk.sh

# sdk/nodejs/bin: the TypeScript SDK compiled into the package npm installs
# (examples/typescript depends on it)
sdk-nodejs:
	scripts/build-nodejs-sdk.sh

# dist/pulumi-resource-zomro-v<version>-<os>-<arch>.tar.gz, the provider plugin for
# `pulumi plugin install resource zomro <version> --file <archive>`
plugin: setup
	scripts/make-plugin.sh

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy

bench: setup
	.venv/bin/python benchmarks/run.py

bench-quick: setup
	.venv/bin/python benchmarks/run.py --quick

# many seeded chaos schedules through the real CLI (SEEDS=50 JOBS=2 make soak)
soak: setup
	PATH="$$(scripts/ensure-pulumi.sh | tail -n 1):$$PATH" .venv/bin/python benchmarks/soak.py --seeds $${SEEDS:-20} --jobs $${JOBS:-1}

# wheel and sdist in dist/ (install with: pip install dist/zomro_pulumi-*.whl)
dist: setup
	rm -rf dist
	.venv/bin/python -m build --outdir dist .

demo-clean:
	rm -rf .demo Pulumi.demo.yaml

clean: demo-clean
	rm -rf .venv .matrix build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
