# glyphfix: `make demo` edits a bundled real photo; `make test` runs the test suite (`make test-fast`: its fast tier).
# Both create .venv if missing and install what they need (idempotent).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian font packages: the registry's (Liberation: training; FreeFont: held out for validation), then
# the font library's (tools/library.py; with the pip extra "library", over 2,000 faces).
FONT_PACKAGES := fonts-liberation fonts-freefont-ttf fonts-noto-core fonts-texgyre fonts-urw-base35 fonts-lmodern \
  fonts-open-sans fonts-lato fonts-croscore fonts-crosextra-carlito fonts-crosextra-caladea fonts-dejavu-extra \
  fonts-liberation2 fonts-sil-gentium fonts-sil-charis fonts-sil-andika fonts-ebgaramond fonts-cantarell \
  fonts-roboto-unhinted fonts-firacode fonts-linuxlibertine fonts-hack fonts-inter fonts-oxygen fonts-cabin \
  fonts-comfortaa fonts-gfs-didot fonts-adf-accanthis fonts-adf-baskervald fonts-adf-berenis fonts-adf-gillius \
  fonts-adf-ikarius fonts-adf-irianis fonts-adf-libris fonts-adf-mekanus fonts-adf-oldania fonts-adf-romande \
  fonts-adf-solothurn fonts-adf-switzera fonts-adf-tribun fonts-adf-universalis fonts-adf-verana

.PHONY: setup fonts browser demo test test-fast lint clean report-shot web-shot

setup: $(STAMP) fonts

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools
	# torch/torchvision come from this machine's wheel store (pip's find-links), not a download.
	$(BIN)/pip install -q "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/pip install -q -e ".[dev,eval,scale,library]"
	touch $(STAMP)

# The Debian font packages, then the font library's index (built once, ~15 s; rebuilt only when the
# installed font files change; kept in ~/.cache/glyphfix, outside git).
fonts: $(STAMP)
	@missing=$$(for p in $(FONT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "install Debian packages $$missing (needs root)"; exit 1; fi; \
	fi
	$(BIN)/python -m tools.library

demo: setup
	mkdir -p out
	$(BIN)/glyphfix ocr examples/poster_who_handwashing.png
	$(BIN)/glyphfix edit examples/poster_who_handwashing.png --find hands --replace bands \
	  -o out/poster_bands.png --sheet out/poster_bands_sheet.png

# Debian's chromium: the web page's browser tests drive it through Playwright (which would
# otherwise download a browser of its own), and report-shot uses it.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian package chromium (needs root)"; exit 1; fi; }

# Both tiers: the fast one (in-process, one shared toolbox) and the slow one (real processes, the
# web page in a headless browser, the shipped weights' quality gates, eval CLI runs). Two pytest
# workers, one per core of the 2-core machines it runs on (each loads its own toolbox): 449 tests in
# 412 s against 486 s in one process (results/tests.md, 2026-12-06).
test: setup browser
	$(BIN)/python -m pytest -q -n 2

# The fast tier on the same two workers: 435 tests in 122 s against 151 s in one process
# (results/tests.md, 2026-12-07).
test-fast: setup
	$(BIN)/python -m pytest -q -n 2 -m "not slow"

lint: setup
	$(BIN)/ruff check agent tools models tests
	$(BIN)/mypy agent tools models

clean:
	rm -rf out .pytest_cache

# Screenshot of an eval report in headless Chromium (installs Debian's chromium if missing):
#   make report-shot REPORT=results/eval/report.html   -> results/eval/report.png
REPORT ?= results/eval/report.html
report-shot: browser
	chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
	  --disable-sync --no-first-run --hide-scrollbars --user-data-dir=$$(mktemp -d) --window-size=1900,2400 \
	  --screenshot=$(dir $(REPORT))report.png file://$(abspath $(REPORT))

# The web page after the test's edit (hands -> bands on the poster), for the README.
web-shot: setup browser
	GLYPHFIX_WEB_SHOT=results/web/page.png $(BIN)/python -m pytest -q tests/test_web.py -m slow -k download
