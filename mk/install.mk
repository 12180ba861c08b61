# install: the binary and the stdlib it finds beside it (host/base/paths.h).
#   make install [PREFIX=/usr/local] [DESTDIR=]   PREFIX/bin/gantry (make VM=luajit:
#                                                 gantry-luajit), PREFIX/share/gantry/stdlib
# The binary looks for BIN/../share/gantry/stdlib at run time, so the tree
# under PREFIX can be moved as a whole; GANTRY_STDLIB overrides.
PREFIX ?= /usr/local
STDLIB_SRC := $(shell find stdlib -name '*.lua' -o -name '*.html')

.PHONY: install

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/gantry
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/$(BIN)
	rm -rf $(DESTDIR)$(PREFIX)/share/gantry/stdlib
	set -e; for f in $(STDLIB_SRC); do \
	  install -D -m 0644 $$f $(DESTDIR)$(PREFIX)/share/gantry/$$f; done
