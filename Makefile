# The two set-up commands: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST4 ?= 127.0.0.1
HOST6 ?= [::1]
PORT ?= 5000
CATALOGS := $(patsubst %.po,%.mo,$(wildcard repository/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test venv translations extract-messages db-upgrade seed-demo clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

translations: venv $(CATALOGS)

%.mo: %.po
	$(BIN)/pybabel compile -i $< -o $@

extract-messages: venv
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o repository/translations/messages.pot .
	$(BIN)/pybabel update -i repository/translations/messages.pot -d repository/translations --no-fuzzy-matching

db-upgrade: translations
	$(FLASK) db upgrade

seed-demo: db-upgrade
	$(FLASK) seed-demo

run: seed-demo
	@echo "Serving on http://$(HOST4):$(PORT) and http://$(HOST6):$(PORT)"
	LISTEN="$(HOST4):$(PORT) $(HOST6):$(PORT)" $(BIN)/python -m repository.serve

test: translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance/test .pytest_cache
