# Convenience wrappers; `python3 course.py <command>` works without make.
.PHONY: setup run test lint sync clean rehearse rehearse-gpu
setup: ; python3 course.py setup
run: ; python3 course.py run
test: ; python3 course.py test
lint: ; python3 course.py lint
rehearse: ; python3 course.py rehearse
rehearse-gpu: ; python3 course.py rehearse-gpu
sync: ; .venv/bin/python tools/sync_notebooks.py && .venv/bin/python tools/make_datasets_md.py
clean: ; rm -rf build
