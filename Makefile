# SLL top-level targets. build.sh does the incremental heavy lifting (packages, musl
# sysroot, kernel); this file compiles our own C code and runs the tests.
BUILD ?= $(CURDIR)/build
SYSROOT := $(BUILD)/sysroot
OBJ := $(BUILD)/obj

CWARN := -Wall -Wextra -Wshadow -Wvla -fno-common -Werror
CSTD := -std=c11 -D_GNU_SOURCE
# slinit: static, musl, small, and free of build paths (the image must be reproducible).
MUSL_CC := musl-gcc
MUSL_CFLAGS := $(CSTD) $(CWARN) -Os -ffunction-sections -fdata-sections \
	-ffile-prefix-map=$(CURDIR)/= -isystem $(SYSROOT)/kernel-headers/include \
	-isystem $(SYSROOT)/include -Ipolicy -Iinit -MMD -MP
MUSL_LDFLAGS := -static -s -Wl,--gc-sections -Wl,--build-id=none -L$(SYSROOT)/lib

CORE_SRCS := policy/digest.c
SLINIT_SRCS := $(wildcard init/*.c) $(CORE_SRCS)
SLINIT_OBJS := $(SLINIT_SRCS:%.c=$(OBJ)/musl/%.o)
SLINIT_LIBS := -ltss2-sys -ltss2-mu -ltss2-tcti-device -ltss2-rc -lnettle

# Host builds (unit tests, later slpolicy) use Debian's own libraries; unit tests run
# under AddressSanitizer and UndefinedBehaviorSanitizer.
HOST_CC := gcc
HOST_CFLAGS := $(CSTD) $(CWARN) -g -O1 -Ipolicy -Iinit -MMD -MP
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test-*.c))
HOST_LIBS := -lnettle

.PHONY: all image slinit demo test unit clean distclean reprocheck

all image:
	./build.sh

slinit: $(BUILD)/slinit

$(BUILD)/slinit: $(SLINIT_OBJS)
	$(MUSL_CC) $(MUSL_LDFLAGS) -o $@ $^ $(SLINIT_LIBS)

$(OBJ)/musl/%.o: %.c
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(MUSL_CFLAGS) -c -o $@ $<

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do $$t || exit 1; done

$(BUILD)/unit/test-%: tests/unit/test-%.c $(CORE_SRCS:%.c=$(OBJ)/host/%.o)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) $(SAN_FLAGS) -o $@ $^ $(HOST_LIBS)

$(OBJ)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

demo: all
	tests/harness/boot-qemu.sh --kernel $(BUILD)/sll.efi --log $(BUILD)/demo-console.log \
		--console --banks sha1,sha256,sha384

test: all
	tests/run-all.sh

clean:
	rm -rf $(OBJ) $(BUILD)/slinit $(BUILD)/sll.efi $(BUILD)/kernel $(BUILD)/test-*

distclean:
	rm -rf $(BUILD)

# Two clean builds from scratch in different directories, without ccache; the images
# must be byte-identical. Not part of `make test`: it takes two full builds.
reprocheck:
	tests/reprocheck.sh

# Keep objects make considers intermediate (host objects of unit tests).
.SECONDARY:

-include $(SLINIT_OBJS:.o=.d) $(CORE_SRCS:%.c=$(OBJ)/host/%.d)
