# Unit tests (cmocka) for the pure modules. Included by the top-level Makefile; it can also be
# used on its own from the repository root:
#   make -f tests/unit/unit.mk unit-quick      # build and run
#   make -f tests/unit/unit.mk unit-asan       # with AddressSanitizer + UBSan
#   make -f tests/unit/unit.mk unit-valgrind   # under valgrind --leak-check=full

UNIT_SRCS := tests/unit/main.c $(wildcard tests/unit/test_*.c)
UNIT_MODS := server/b64.c server/validate.c server/timefmt.c server/cursor.c server/etag.c server/jsonx.c server/crypto.c server/pii.c server/workdays.c server/errpage.c server/log.c server/roles.c server/fields.c server/qstring.c server/datakeys.c server/checkpoint.c
UNIT_LIBS := -lcmocka -ljansson -levent -lssl -lcrypto -largon2 -lunistring
UNIT_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude
UNIT_TMP ?= /tmp/overleg-unit-$(shell id -u)

# Targets below must not become the including Makefile's default goal.
_unit_saved_default_goal := $(.DEFAULT_GOAL)

.PHONY: unit-quick unit-asan unit-valgrind

$(UNIT_TMP)-quick: $(UNIT_SRCS) $(UNIT_MODS) $(wildcard include/*.h)
	$(CC) $(UNIT_CFLAGS) -O2 -g $(UNIT_SRCS) $(UNIT_MODS) $(UNIT_LIBS) -o $@

$(UNIT_TMP)-asan: $(UNIT_SRCS) $(UNIT_MODS) $(wildcard include/*.h)
	$(CC) $(UNIT_CFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	    -fno-sanitize-recover=undefined $(UNIT_SRCS) $(UNIT_MODS) $(UNIT_LIBS) -o $@

unit-quick: $(UNIT_TMP)-quick
	$(UNIT_TMP)-quick

unit-asan: $(UNIT_TMP)-asan
	ASAN_OPTIONS=detect_leaks=1 $(UNIT_TMP)-asan

unit-valgrind: $(UNIT_TMP)-quick
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
	    --error-exitcode=99 $(UNIT_TMP)-quick

.DEFAULT_GOAL := $(_unit_saved_default_goal)
