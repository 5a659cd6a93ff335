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
	-isystem $(SYSROOT)/include -Ipolicy -Iinit -Ikexec -MMD -MP
MUSL_LDFLAGS := -static -s -Wl,--gc-sections -Wl,--build-id=none -L$(SYSROOT)/lib \
	-Wl,-T,init/no-eh-frame.ld

# The core: everything in policy/, shared by slinit, slpolicy, sll-collect and the tests.
CORE_SRCS := $(wildcard policy/*.c)
SLINIT_SRCS := $(wildcard init/*.c kexec/*.c) $(CORE_SRCS)
SLINIT_OBJS := $(SLINIT_SRCS:%.c=$(OBJ)/musl/%.o)
SLINIT_LIBS := -ltss2-sys -ltss2-mu -ltss2-tcti-device -ltss2-rc -ljson-c -lblkid -lhogweed \
	-lnettle
# The archives behind SLINIT_LIBS: a rebuilt sysroot library (deps/patches) relinks slinit.
SLINIT_ARCHIVES := $(SLINIT_LIBS:-l%=$(SYSROOT)/lib/lib%.a)
# slinit is part of the measured image, read into memory at every launch: above this size
# (400 KiB) its link fails.
SLINIT_MAX_SIZE := 409600

# Host builds (unit tests, later slpolicy) use Debian's own libraries; unit tests run
# under AddressSanitizer and UndefinedBehaviorSanitizer.
HOST_CC := gcc
HOST_SYSROOT := $(BUILD)/host-sysroot
HOST_CFLAGS := $(CSTD) $(CWARN) -g -O1 -Ipolicy -Iinit -Ikexec -isystem $(HOST_SYSROOT)/include -MMD -MP
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test-*.c))
# json-c: our patched build (build.sh), the same source as slinit's; nettle: Debian's.
HOST_LIBS := $(HOST_SYSROOT)/lib/libjson-c.a -lhogweed -lnettle

.PHONY: all image slinit slpolicy sll-collect sll-attest demo test unit valgrind lint tidy esp \
	sign clean distclean reprocheck deb deb-check fresh-check demo-upgrade

# make image POLICY_PUBKEY=key.pub.pem: only policies signed with that key are accepted.
# ROLLBACK_NV=0x01XXXXXX[:ordinary]: every policy's serial is checked against that TPM NV
# counter (or 8-byte index), whatever the policy says.
all image:
	POLICY_PUBKEY="$(POLICY_PUBKEY)" ROLLBACK_NV="$(ROLLBACK_NV)" ./build.sh

slinit: $(BUILD)/slinit

$(BUILD)/slinit: $(SLINIT_OBJS) init/no-eh-frame.ld $(SLINIT_ARCHIVES)
	$(MUSL_CC) $(MUSL_LDFLAGS) -o $@.tmp $(SLINIT_OBJS) $(SLINIT_LIBS)
	@size=$$(stat -c %s $@.tmp); if [ $$size -gt $(SLINIT_MAX_SIZE) ]; then rm -f $@.tmp; \
		echo "slinit: $$size bytes, over the limit of $(SLINIT_MAX_SIZE) bytes (SLINIT_MAX_SIZE)" >&2; \
		exit 1; fi
	mv -f $@.tmp $@

$(OBJ)/musl/%.o: %.c
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(MUSL_CFLAGS) -c -o $@ $<

# sll-collect: what an admin runs on the target to capture the collectors' inputs for
# `slpolicy predict --sys`; static musl like slinit, so it runs from any x86-64 Linux.
SLL_COLLECT_SRCS := tools/sll-collect.c $(CORE_SRCS)
SLL_COLLECT_OBJS := $(SLL_COLLECT_SRCS:%.c=$(OBJ)/musl/%.o)

sll-collect: $(BUILD)/sll-collect

$(BUILD)/sll-collect: $(SLL_COLLECT_OBJS)
	$(MUSL_CC) $(MUSL_LDFLAGS) -o $@ $^ -ljson-c -lhogweed -lnettle

unit: $(UNIT_TESTS)
	@for t in $(UNIT_TESTS); do $$t || exit 1; done

# Modules of init/ and kexec/ that unit tests exercise beside the core (launch-read: slinit's
# side of test-sequence; it needs the memfd calls of kexec/load.c).
UNIT_INIT_SRCS := init/options.c init/launch-read.c kexec/load.c
HOST_CFLAGS += -Itests/unit -Islpolicy

# The attestation verifier's modules (slpolicy/attest-*.c): its unit test and fuzz target link
# them with Debian's tss2-mu and OpenSSL.
ATTEST_SRCS := $(wildcard slpolicy/attest-*.c)
ATTEST_LIBS := -ltss2-mu -lcrypto
$(BUILD)/unit/test-attest: $(ATTEST_SRCS:%.c=$(OBJ)/host/%.o)
$(BUILD)/unit/test-attest: EXTRA_LIBS := $(ATTEST_LIBS)
$(BUILD)/unit-vg/test-attest: $(ATTEST_SRCS:%.c=$(OBJ)/host-vg/%.o)
$(BUILD)/unit-vg/test-attest: EXTRA_LIBS := $(ATTEST_LIBS)

$(BUILD)/unit/test-%: tests/unit/test-%.c $(CORE_SRCS:%.c=$(OBJ)/host/%.o) \
		$(UNIT_INIT_SRCS:%.c=$(OBJ)/host/%.o)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) $(SAN_FLAGS) -o $@ $^ $(HOST_LIBS) $(EXTRA_LIBS)

$(OBJ)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) $(SAN_FLAGS) -c -o $@ $<

# make esp BOOT_DIR=DIR [ESP_LAYOUT=esp|ext4] [ESP_OUT=build/esp.img] [ESP_IMAGE=…]: a bootable
# GPT disk image with the image as the ESP's EFI/BOOT/BOOTX64.EFI and DIR's files
# (tools/make-esp.sh).
ESP_LAYOUT ?= esp
ESP_OUT ?= $(BUILD)/esp.img
ESP_IMAGE ?= $(BUILD)/sll.efi
esp:
	@test -n "$(BOOT_DIR)" || { echo "make esp: give BOOT_DIR=DIR (the boot partition's files)"; exit 2; }
	tools/make-esp.sh "$(ESP_IMAGE)" "$(BOOT_DIR)" "$(ESP_OUT)" $(ESP_LAYOUT)

# make sign KEY=db.key CERT=db.crt: build/sll.signed.efi, signed for UEFI Secure Boot with
# sbsigntool and checked with sbverify. The signature changes the file: PCR 17 (the DRTM's
# measurement of it) is that of the signed file.
sign:
	@test -n "$(KEY)" -a -n "$(CERT)" || { echo "make sign: give KEY=key.pem CERT=cert.pem"; exit 2; }
	sbsign --key "$(KEY)" --cert "$(CERT)" --output $(BUILD)/sll.signed.efi $(BUILD)/sll.efi
	sbverify --cert "$(CERT)" $(BUILD)/sll.signed.efi

# The same unit tests without sanitizers, under valgrind (memcheck): leaks and uninitialised
# reads that ASan does not see. Any report fails.
VG_TESTS := $(UNIT_TESTS:$(BUILD)/unit/%=$(BUILD)/unit-vg/%)
valgrind: $(VG_TESTS)
	@for t in $(VG_TESTS); do \
		valgrind --quiet --error-exitcode=1 --leak-check=full --show-leak-kinds=all \
			--errors-for-leak-kinds=all --track-origins=yes $$t || exit 1; \
	done

$(BUILD)/unit-vg/test-%: tests/unit/test-%.c $(CORE_SRCS:%.c=$(OBJ)/host-vg/%.o) \
		$(UNIT_INIT_SRCS:%.c=$(OBJ)/host-vg/%.o)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -o $@ $^ $(HOST_LIBS) $(EXTRA_LIBS)

$(OBJ)/host-vg/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOST_CC) $(HOST_CFLAGS) -c -o $@ $<

# slpolicy: the admin's tool, a normal host binary (release flags, no sanitizers).
SLPOLICY_SRCS := $(wildcard slpolicy/*.c) $(CORE_SRCS)
SLPOLICY_OBJS := $(SLPOLICY_SRCS:%.c=$(OBJ)/host-rel/%.o)

slpolicy: $(BUILD)/slpolicy

# OpenSSL reads the admin's PEM keys and signs, and does attestation's X.509 and TPM
# credential crypto; verifying policy signatures is the core's (nettle). tss2-mu (Debian's)
# reads the TPM structures of attestation evidence.
$(BUILD)/slpolicy: $(SLPOLICY_OBJS)
	$(HOST_CC) -o $@ $^ $(HOST_LIBS) -ltss2-mu -lcrypto

$(OBJ)/host-rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOST_CC) $(CSTD) $(CWARN) -O2 -g -Ipolicy -Islpolicy -isystem $(HOST_SYSROOT)/include -MMD -MP -c -o $@ $<

# sll-attest: the attested machine's side of remote attestation (enroll, activate, quote), a
# host binary like slpolicy over Debian's tpm2-tss (SAPI, tctildr: any TCTI); no crypto
# library, the TPM does it all.
SLL_ATTEST_SRCS := $(wildcard tools/sll-attest/*.c) policy/hex.c policy/fileio.c
SLL_ATTEST_OBJS := $(SLL_ATTEST_SRCS:%.c=$(OBJ)/host-rel/%.o)

sll-attest: $(BUILD)/sll-attest

$(BUILD)/sll-attest: $(SLL_ATTEST_OBJS)
	$(HOST_CC) -o $@ $^ $(HOST_SYSROOT)/lib/libjson-c.a -ltss2-sys -ltss2-mu -ltss2-tctildr \
		-ltss2-rc

demo: all
	$(MAKE) slpolicy sll-attest
	PYTHONPATH="$(CURDIR)/tests/lib$${PYTHONPATH:+:$$PYTHONPATH}" tests/e2e/demo.py

# make demo-upgrade: README's "Upgrading with the management environment" in QEMU: a runtime
# OS requests, the management environment asks and approves, the new kernel unseals.
demo-upgrade: all
	$(MAKE) slpolicy sll-attest
	PYTHONPATH="$(CURDIR)/tests/lib$${PYTHONPATH:+:$$PYTHONPATH}" tests/e2e/demo-upgrade.py

test: all
	$(MAKE) slpolicy sll-collect sll-attest
	tests/run-all.sh

clean:
	rm -rf $(OBJ) $(BUILD)/slinit $(BUILD)/sll.efi $(BUILD)/kernel $(BUILD)/test-*

distclean:
	rm -rf $(BUILD)

# Two clean builds from scratch in different directories, without ccache; the images
# must be byte-identical. Not part of `make test`: it takes two full builds.
reprocheck:
	tests/reprocheck.sh

# Every shell script of the tree (tools/sll-seal, the kernel hooks and the package's postrm are
# POSIX sh without a .sh name).
SHELL_SCRIPTS := build.sh .ci/run tools/bash-completion/slpolicy \
	$(sort $(shell find tests tools -name '*.sh'))
SH_SCRIPTS := tools/sll-seal tools/sll-manage tools/kernel-hook/sll-kernel-hook tools/kernel-hook/postinst.d/zz-sll \
	tools/kernel-hook/post-update.d/sll tools/kernel-hook/install.d/95-sll.install \
	debian/sll-target.postrm

# Static analysis: cppcheck over all our C and shellcheck over the shell scripts, warnings
# are errors (part of make test).
lint:
	cppcheck --quiet --enable=warning,portability,performance --std=c11 -D_GNU_SOURCE \
		-Ipolicy -Iinit -Ikexec -Islpolicy --suppress=missingIncludeSystem --inline-suppr \
		--error-exitcode=1 policy init kexec slpolicy tools tests/unit tests/fuzz tests/tools \
		tests/bench
	shellcheck -S warning $(SHELL_SCRIPTS)
	shellcheck -S warning -s sh $(SH_SCRIPTS)

# Keep objects make considers intermediate (host objects of unit tests).
.SECONDARY:

-include $(SLINIT_OBJS:.o=.d) $(SLL_COLLECT_OBJS:.o=.d) $(CORE_SRCS:%.c=$(OBJ)/host/%.d) $(SLPOLICY_OBJS:.o=.d) \
	$(SLL_ATTEST_OBJS:.o=.d)

# --- fuzz (eventlog) ---
# libFuzzer targets: each tests/fuzz/fuzz-NAME.c is built with clang against the core and run
# clang-tidy with the checked-in .clang-tidy; the musl code is checked against the sysroot's
# headers, as it is compiled.
TIDY_SRCS := $(wildcard policy/*.c init/*.c kexec/*.c slpolicy/*.c tools/sll-attest/*.c)
tidy:
	clang-tidy --quiet $(TIDY_SRCS) -- $(CSTD) -D_GNU_SOURCE -Ipolicy -Iinit -Ikexec -Islpolicy \
		-isystem $(SYSROOT)/kernel-headers/include -isystem $(SYSROOT)/include \
		-isystem $(HOST_SYSROOT)/include

# for FUZZ_SECONDS on build/fuzz/NAME/corpus, a working copy seeded from tests/fuzz/corpus/NAME/
# (the checked-in seeds are never modified). Crashes land in build/fuzz/NAME/artifacts/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := $(CSTD) $(CWARN) -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Ipolicy -Iinit -Ikexec -Islpolicy \
	-isystem $(HOST_SYSROOT)/include
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz-%)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(CORE_SRCS) $(UNIT_INIT_SRCS) $(wildcard policy/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(CORE_SRCS) $(UNIT_INIT_SRCS) $(FUZZ_EXTRA) $(HOST_LIBS) \
		$(EXTRA_LIBS)

# The evidence target runs the attestation verifier's modules.
$(BUILD)/fuzz/fuzz-evidence: $(ATTEST_SRCS) $(wildcard slpolicy/attest*.h)
$(BUILD)/fuzz/fuzz-evidence: FUZZ_EXTRA := $(ATTEST_SRCS)
$(BUILD)/fuzz/fuzz-evidence: EXTRA_LIBS := $(ATTEST_LIBS)

fuzz: $(FUZZ_BINS)
	@set -e; for n in $(FUZZ_NAMES); do \
		work=$(BUILD)/fuzz/$$n; \
		mkdir -p $$work/corpus $$work/artifacts; \
		if [ -d tests/fuzz/corpus/$$n ]; then cp -R tests/fuzz/corpus/$$n/. $$work/corpus/; fi; \
		echo "fuzz: $$n: $(FUZZ_SECONDS)s on $$(ls $$work/corpus | wc -l) inputs"; \
		rc=0; $(BUILD)/fuzz/fuzz-$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-print_final_stats=1 -artifact_prefix=$$work/artifacts/ \
			$$work/corpus >$$work/fuzz.log 2>&1 || rc=$$?; \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$work/fuzz.log); \
		echo "fuzz: $$n: $${execs:-?} execs, corpus $$(ls $$work/corpus | wc -l), exit $$rc"; \
		if [ $$rc != 0 ]; then tail -n 40 $$work/fuzz.log; exit 1; fi; \
	done
# --- end fuzz ---

# --- bench ---
# Benchmarks print numbers (tests/bench/run-bench.py, docs/bench.md); not part of make test.
# hashbench: slinit's measurement path (measure_stream) on the host, built twice: with musl
# and the sysroot's nettle exactly as slinit links it, and with Debian's nettle.
BENCH_SRCS := tests/bench/hashbench.c policy/digest.c policy/event.c policy/measure.c \
	policy/beneath.c policy/fileio.c policy/hex.c \
	kexec/load.c

.PHONY: bench bench-tools
bench-tools: $(BUILD)/bench/hashbench-musl $(BUILD)/bench/hashbench-host

$(BUILD)/bench/hashbench-musl: $(BENCH_SRCS) $(wildcard policy/*.h kexec/*.h)
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(filter-out -MMD -MP,$(MUSL_CFLAGS)) -static -Wl,--gc-sections -L$(SYSROOT)/lib \
		-o $@ $(BENCH_SRCS) -lnettle

$(BUILD)/bench/hashbench-host: $(BENCH_SRCS) $(wildcard policy/*.h kexec/*.h)
	@mkdir -p $(dir $@)
	$(HOST_CC) $(CSTD) $(CWARN) -O2 -Ipolicy -Ikexec -isystem $(HOST_SYSROOT)/include -o $@ \
		$(BENCH_SRCS) -lnettle

# slinit linked as for the image but unstripped, with a link map: what each library adds.
$(BUILD)/bench/slinit-unstripped: $(SLINIT_OBJS) init/no-eh-frame.ld
	@mkdir -p $(dir $@)
	$(MUSL_CC) $(filter-out -s,$(MUSL_LDFLAGS)) -Wl,-Map=$@.map -o $@ $(SLINIT_OBJS) \
		$(SLINIT_LIBS)

bench: all
	$(MAKE) slpolicy sll-attest bench-tools $(BUILD)/bench/slinit-unstripped
	PYTHONPATH="$(CURDIR)/tests/lib$${PYTHONPATH:+:$$PYTHONPATH}" tests/bench/run-bench.py
	PYTHONPATH="$(CURDIR)/tests/lib$${PYTHONPATH:+:$$PYTHONPATH}" tests/bench/attest-bench.py
# --- end bench ---

# --- packaging ---
# make deb: the admin side's Debian packages (debian/: slpolicy; sll-target with sll-seal,
# sll-attest, sll-collect and the kernel upgrade hooks) in build/deb/, built with this Makefile
# by dpkg-buildpackage and checked by lintian. sll-collect (static) needs the musl sysroot and
# every tool the patched json-c: build.sh's sysroot step comes first (incremental). Needs
# dpkg-dev, debhelper and lintian (tools/make-deb.sh names what is missing).
deb:
	./build.sh packages sysroot
	tools/make-deb.sh "$(BUILD)" "$(SYSROOT)" "$(HOST_SYSROOT)"

# make deb-check: those packages installed by apt into a fresh Debian 12 root (mmdebstrap),
# their commands, man pages, one predict, the kernel hook and a purge checked there. As root.
deb-check: deb slpolicy
	tests/fresh/deb-check.sh "$(BUILD)/fresh" "$(BUILD)/deb" "$(BUILD)/slpolicy"

# make fresh-check: README's two commands in a minimal Debian 12 root with only make, on a
# clean clone of HEAD, then deb-check. Too slow for every CI run (the whole build and test
# suite): run it before resolving an issue that changes build.sh's packages. As root.
fresh-check:
	tests/fresh/fresh-check.sh "$(BUILD)/fresh"
	$(MAKE) deb-check
# --- end packaging ---
