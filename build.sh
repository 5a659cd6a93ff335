#!/usr/bin/env bash
# SLL build: apt packages, musl sysroot of our dependencies, slinit, SL kernel, sll.efi.
# Every step is incremental (stamp files under build/) and safe to re-run.
#
#   ./build.sh            everything up to build/sll.efi
#   ./build.sh STEP...    only these steps (packages sysroot slinit kconfig kernel image)
#
# Environment:
#   BUILD=DIR             output directory (default: build/ in the tree)
#   KERNEL_SRC=DIR        a (TrenchBoot) kernel tree to use instead of Debian's linux-source-6.1
#   KCONFIG_FRAGMENTS=..  fragments to merge: names in kernel-config/ or paths
#                         (default: base qemu hw)
#   SL_CMDLINE=STR        extra built-in kernel command line
#   POLICY_PUBKEY=PEM     build the Ed25519 policy-signing public key in: only signed
#                         policies are then accepted (openssl pkey -pubout gives the PEM)
#   ROLLBACK_NV=0x01XXXXXX[:ordinary]  build the anti-rollback floor in: every policy's
#                         serial must be at least the value of this TPM NV counter (or, with
#                         :ordinary, of this 8-byte NV index), whatever the policy says
#   IMAGE_VARIANT=NAME    build build/sll-NAME.efi beside build/sll.efi (own kernel objects)
#   INITRAMFS_LIST=FILE   gen_init_cpio list of the built-in initramfs (default
#                         initramfs/sl.list; @SLINIT@ stands for build/slinit)
#   JOBS=N                parallel jobs (default: nproc)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD:-$ROOT/build}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
SYSROOT=$BUILD/sysroot
STAMPS=$BUILD/stamps
DEPSRC=$BUILD/deps
# The kernel source is shared; each image variant has its own objects (ccache makes a
# variant's first build cheap) and its own sll[-VARIANT].efi.
KSRC_DIR=$BUILD/kernel
KDIR=$BUILD/kernel${IMAGE_VARIANT:+-$IMAGE_VARIANT}
IMAGE_NAME=sll${IMAGE_VARIANT:+-$IMAGE_VARIANT}.efi
JOBS=${JOBS:-$(nproc)}
KCONFIG_FRAGMENTS=${KCONFIG_FRAGMENTS:-base qemu hw}
INITRAMFS_LIST=${INITRAMFS_LIST:-$ROOT/initramfs/sl.list}
DEBIAN_SUITE=trixie

# The built-in command line, the only one the kernel takes: of a boot loader's (or a UEFI
# Boot#### entry's) command line only the sl.* words are kept (kernel-config/base.config).
# tpm_tis.locality=2 comes from kernel-config/patches/0001: PID 1 must extend PCRs 17-22,
# which the TPM only accepts from locality 2. noinitrd stops the EFI stub from loading a
# boot loader's initrd= at all (the kernel ignores any external initrd anyway).
SL_BUILTIN_CMDLINE="console=ttyS0,115200 tpm_tis.locality=2 noinitrd${SL_CMDLINE:+ $SL_CMDLINE}"

# Fixed build identity so two builds of the same tree give the same bytes (PCR 17).
export KBUILD_BUILD_TIMESTAMP="1970-01-01 00:00:00 UTC"
export KBUILD_BUILD_USER=sll KBUILD_BUILD_HOST=sll KBUILD_BUILD_VERSION=1
export SOURCE_DATE_EPOCH=0 LC_ALL=C TZ=UTC

APT_PACKAGES=(
	build-essential musl-tools pkg-config bc bison flex cpio xz-utils kmod patch xxd
	libelf-dev libssl-dev dpkg-dev ccache rsync
	autoconf automake libtool autoconf-archive libltdl-dev cmake gettext autopoint
	linux-source-6.1 linux-image-amd64
	qemu-system-x86 swtpm swtpm-tools ovmf tpm2-tools libtss2-tcti-swtpm0 libtss2-dev python3
	python3-jsonschema openssl kexec-tools
	nettle-dev mtools dosfstools e2fsprogs busybox-static fdisk
	clang libclang-rt-dev cppcheck clang-tidy valgrind sbsigntool cpuid shellcheck
	clevis clevis-tpm2 clevis-luks cryptsetup-bin jq systemd time
)

log() { printf 'build: %s\n' "$*" >&2; }
die() { printf 'build: FAILED: %s\n' "$*" >&2; exit 1; }

# --- step: packages --------------------------------------------------------------------
add_debian_source_entry() {
	# Sources of trixie (Debian's current stable): bookworm's no longer all served.
	if ! grep -rqs "^Types:.*deb-src" /etc/apt/sources.list.d/ ||
		! grep -rqsE "^Suites:.*\b$DEBIAN_SUITE\b" /etc/apt/sources.list.d/*.sources; then
		log "adding deb-src entry for $DEBIAN_SUITE"
		cat >/etc/apt/sources.list.d/sll-$DEBIAN_SUITE-src.sources <<-EOF
			Types: deb-src
			URIs: http://deb.debian.org/debian
			Suites: $DEBIAN_SUITE
			Components: main
			Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
		EOF
		return 0
	fi
	return 1
}

step_packages() {
	local missing=() p new_src=0
	for p in "${APT_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	add_debian_source_entry && new_src=1
	if ((${#missing[@]} == 0 && new_src == 0)); then
		return
	fi
	[ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}): run build.sh as root"
	log "apt-get update"
	apt-get update -q >/dev/null
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >/dev/null
	fi
}

# --- step: sources (Debian source packages of the sysroot libraries) --------------------
# Prints the directory of the unpacked source of PKG at the version DEBIAN_SUITE has.
unpack_debian_source() {
	local pkg=$1 dsc_name ver dir dl
	dsc_name=$(apt-get source --print-uris -qq "$pkg/$DEBIAN_SUITE" 2>/dev/null |
		awk '$2 ~ /\.dsc$/ { print $2; exit }')
	[ -n "$dsc_name" ] || die "$pkg: no source package in $DEBIAN_SUITE (apt-get update?)"
	ver=${dsc_name#"${pkg}_"} ver=${ver%.dsc}
	# Our own patches (deps/patches/PKG-*.patch) are part of the version.
	local patches=("$ROOT"/deps/patches/"$pkg"-*.patch) id=""
	[ -e "${patches[0]}" ] || patches=()
	((${#patches[@]} == 0)) || id=-sll$(cat "${patches[@]}" | sha256sum | cut -c1-8)
	dir=$DEPSRC/$pkg-$ver$id
	if [ ! -f "$dir/.unpacked" ]; then
		dl=$DEPSRC/dl/$pkg-$ver
		rm -rf "$dir" && mkdir -p "$dl"
		# apt verifies every file against the signed Sources index.
		(cd "$dl" && apt-get source -q --download-only "$pkg/$DEBIAN_SUITE") \
			>"$dl.log" 2>&1 ||
			log "$pkg: some files of the source package could not be fetched"
		local dsc=$dl/$dsc_name
		[ -f "$dsc" ] || die "$pkg: $dsc not downloaded"
		if ! dpkg-source --no-check -x "$dsc" "$dir" >>"$dl.log" 2>&1; then
			# Debian's mirror sometimes lacks the packaging tarball (json-c 0.18+ds-1):
			# fall back to the verified upstream tarball alone.
			local orig
			orig=$(ls "$dl"/*.orig.tar.* 2>/dev/null | head -n1)
			[ -n "$orig" ] || die "$pkg: neither the full source package nor its orig tarball"
			log "$pkg: packaging tarball missing, using the upstream tarball $(basename "$orig")"
			rm -rf "$dir" && mkdir -p "$dir"
			tar -xf "$orig" -C "$dir" --strip-components=1
		fi
		local p
		for p in "${patches[@]}"; do
			patch -d "$dir" -p1 --forward --quiet <"$p" >&2 ||
				die "$pkg: patch $(basename "$p") does not apply"
		done
		touch "$dir/.unpacked"
	fi
	printf '%s\n' "$dir"
}

# --- step: sysroot ----------------------------------------------------------------------
musl_env() {
	export CC="musl-gcc" AR=ar RANLIB=ranlib
	export CFLAGS="-Os -ffunction-sections -fdata-sections -isystem $SYSROOT/kernel-headers/include"
	export CPPFLAGS="-isystem $SYSROOT/kernel-headers/include"
	export PKG_CONFIG_LIBDIR=$SYSROOT/lib/pkgconfig PKG_CONFIG_PATH=
	export PKG_CONFIG_SYSROOT_DIR=
}

# Runs "build_dep_NAME SRCDIR" once per source version.
with_stamp() {
	local name=$1 dir=$2 stamp
	stamp=$STAMPS/dep-$name-$(basename "$dir")
	[ -f "$stamp" ] && return
	log "building $name ($(basename "$dir"))"
	rm -f "$STAMPS"/dep-"$name"-*
	("build_dep_$name" "$dir") >"$BUILD/log-$name.txt" 2>&1 ||
		die "$name: build failed, see $BUILD/log-$name.txt"
	touch "$stamp"
}

build_dep_kernel_headers() {
	# musl-gcc has no <linux/*.h>; util-linux and slinit need them.
	make -C "$1" O="$DEPSRC/kheaders-obj" ARCH=x86 \
		INSTALL_HDR_PATH="$SYSROOT/kernel-headers" headers_install
}

# json-c with deps/patches (duplicate keys) for musl into the sysroot; $2 $3 $4 build it
# instead with the host compiler into the host sysroot, for slpolicy and the unit tests,
# so that both sides parse policies with the very same library.
build_dep_json_c() {
	local cc=${2:-musl-gcc} prefix=${3:-$SYSROOT} cflags=${4:-$CFLAGS}
	local b
	b=$DEPSRC/json-c-build-$(basename "$prefix")
	rm -rf "$b"
	cmake -S "$1" -B "$b" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
		-DCMAKE_C_FLAGS="$cflags" -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
		-DDISABLE_EXTRA_LIBS=ON -DBUILD_TESTING=OFF -DBUILD_APPS=OFF
	cmake --build "$b" -j "$JOBS"
	cmake --install "$b"
}

build_dep_json_c_host() {
	build_dep_json_c "$1" gcc "$BUILD/host-sysroot" "-O2 -fPIC"
}

build_dep_nettle() {
	cd "$1"
	[ -f Makefile ] && make distclean || true
	./configure --host=x86_64-linux-musl --prefix=/ --libdir=/lib --enable-fat \
		--enable-mini-gmp --disable-shared --disable-documentation --disable-openssl
	make -j "$JOBS"
	make DESTDIR="$SYSROOT" install
}

build_dep_tpm2_tss() {
	cd "$1"
	[ -f configure ] || ./bootstrap
	[ -f Makefile ] && make distclean || true
	# Only marshalling, the SAPI and the device TCTI: slinit talks to /dev/tpm*.
	./configure --host=x86_64-linux-musl --prefix=/ --libdir=/lib \
		--disable-shared --enable-static --enable-nodl --with-crypto=none \
		--disable-esys --disable-fapi --disable-policy --disable-doxygen-doc \
		--disable-tcti-mssim --disable-tcti-swtpm --disable-tcti-pcap \
		--disable-tcti-libtpms --disable-tcti-cmd --disable-tcti-spi-helper \
		--disable-tcti-spi-ltt2go --disable-tcti-spi-ftdi --disable-tcti-i2c-helper \
		--disable-tcti-i2c-ftdi --disable-defaultflags --disable-weakcrypto \
		--with-udevrulesdir=/lib/udev/rules.d --with-runstatedir=/run \
		--with-sysusersdir=/lib/sysusers.d --with-tmpfilesdir=/lib/tmpfiles.d
	make -j "$JOBS"
	# A plain install tries to create a tss user; DESTDIR avoids touching the host.
	make DESTDIR="$SYSROOT" install
}

build_dep_libblkid() {
	cd "$1"
	[ -f Makefile ] && make distclean || true
	# Debian's patches touch Makefile.am files of programs we do not build; keep the
	# shipped autotools output current instead of requiring the exact automake version.
	touch aclocal.m4 && sleep 1 && touch configure config.h.in &&
		find . -name Makefile.in -exec touch {} +
	./configure --host=x86_64-linux-musl --prefix=/ --libdir=/lib \
		--disable-all-programs --enable-libblkid --disable-shared --enable-static \
		--disable-nls --without-python --without-systemd --without-udev \
		--without-readline --without-ncursesw --without-ncurses --without-tinfo \
		--without-libz --without-btrfs --without-cryptsetup --disable-bash-completion \
		--disable-asciidoc --disable-poman
	make -j "$JOBS"
	make DESTDIR="$SYSROOT" install
}

step_sysroot() {
	local ksrc json_c nettle tss util_linux
	mkdir -p "$SYSROOT" "$STAMPS" "$DEPSRC"
	# Assignments, not arguments, so that a failure inside $(...) stops the build.
	ksrc=$(kernel_source)
	json_c=$(unpack_debian_source json-c)
	nettle=$(unpack_debian_source nettle)
	tss=$(unpack_debian_source tpm2-tss)
	util_linux=$(unpack_debian_source util-linux)
	with_stamp kernel_headers "$ksrc"
	with_stamp json_c_host "$json_c"
	musl_env
	with_stamp json_c "$json_c"
	with_stamp nettle "$nettle"
	with_stamp tpm2_tss "$tss"
	with_stamp libblkid "$util_linux"
}

# --- step: kernel -----------------------------------------------------------------------
# Prints the kernel source tree: KERNEL_SRC, or Debian's linux-source-6.1 unpacked and
# patched with kernel-config/patches (re-unpacked when the patch set changes).
kernel_source() {
	if [ -n "${KERNEL_SRC:-}" ]; then
		(cd "$KERNEL_SRC" && pwd)
		return
	fi
	local tarball=/usr/src/linux-source-6.1.tar.xz id src=$KSRC_DIR/src
	[ -f "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.1)"
	id=$( (stat -c '%s %Y' "$tarball"; cat "$ROOT"/kernel-config/patches/*.patch 2>/dev/null) |
		sha256sum | cut -c1-16)
	if [ "$(cat "$src/.sll-id" 2>/dev/null)" != "$id" ]; then
		log "unpacking linux-source-6.1 and applying kernel-config/patches"
		rm -rf "$src" && mkdir -p "$src"
		tar -xf "$tarball" -C "$src" --strip-components=1
		local p
		for p in "$ROOT"/kernel-config/patches/*.patch; do
			[ -e "$p" ] || continue
			patch -d "$src" -p1 --forward --quiet <"$p" >&2 ||
				die "kernel patch $(basename "$p") does not apply"
		done
		printf '%s\n' "$id" >"$src/.sll-id"
	fi
	printf '%s\n' "$src"
}

# Fails naming every symbol a fragment sets that the final .config does not have as asked.
check_kernel_config() {
	local config=$1 frag line sym want have bad=()
	shift
	for frag in "$@"; do
		while IFS= read -r line; do
			case "$line" in
			CONFIG_*=*) sym=${line%%=*} want=${line#*=} ;;
			"# CONFIG_"*" is not set") sym=${line#\# } sym=${sym%% *} want=n ;;
			*) continue ;;
			esac
			have=$(grep -E "^$sym=" "$config" | head -n1 | cut -d= -f2-)
			[ -n "$have" ] || have=n
			[ "$have" = "$want" ] || bad+=("$sym=$want (got $have, from $(basename "$frag"))")
		done <"$frag"
	done
	if ((${#bad[@]})); then
		printf 'build: FAILED: kernel config: symbol not set as requested: %s\n' "${bad[@]}" >&2
		printf 'build: a dependency of these symbols is missing from kernel-config/*.config\n' >&2
		return 1
	fi
}

kernel_fragments() {
	local f
	for f in $KCONFIG_FRAGMENTS; do
		case "$f" in
		*/*) [ -f "$f" ] || die "kernel config fragment $f not found"
			printf '%s\n' "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" ;;
		*) [ -f "$ROOT/kernel-config/$f.config" ] || die "kernel-config/$f.config not found"
			printf '%s\n' "$ROOT/kernel-config/$f.config" ;;
		esac
	done
	if [ -n "${KERNEL_SRC:-}" ]; then
		printf '%s\n' "$ROOT/kernel-config/securelaunch.config"
	fi
}

# Writes the generated fragment: built-in initramfs list and command line.
write_generated_fragment() {
	local out=$KDIR/generated.config tmp
	tmp=$(mktemp)
	cat >"$tmp" <<-EOF
		# Generated by build.sh: paths of this build and the built-in command line.
		CONFIG_INITRAMFS_SOURCE="$KDIR/sl.list"
		CONFIG_CMDLINE="$SL_BUILTIN_CMDLINE"
	EOF
	replace_if_changed "$tmp" "$out"
}

# Keeps OUT's mtime when its content does not change, so make does not rebuild for nothing.
replace_if_changed() {
	if cmp -s "$1" "$2"; then rm -f "$1"; else mv -f "$1" "$2"; fi
}

configure_kernel() {
	local src=$1 obj=$KDIR/obj frags=() want
	mapfile -t frags < <(kernel_fragments)
	frags+=("$KDIR/generated.config")
	want=$( (cat "${frags[@]}"; echo "$src") | sha256sum | cut -c1-16)
	if [ -f "$obj/.config" ] && [ "$(cat "$KDIR/.config-id" 2>/dev/null)" = "$want" ]; then
		return
	fi
	log "configuring kernel: tinyconfig + ${frags[*]##*/}"
	mkdir -p "$obj"
	make -C "$src" O="$obj" ARCH=x86_64 tinyconfig >/dev/null
	(cd "$obj" && KCONFIG_CONFIG=.config "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
		.config "${frags[@]}" >/dev/null)
	make -C "$src" O="$obj" ARCH=x86_64 olddefconfig >/dev/null
	check_kernel_config "$obj/.config" "${frags[@]}" || {
		rm -f "$KDIR/.config-id"
		exit 1
	}
	printf '%s\n' "$want" >"$KDIR/.config-id"
}

# gen_init_cpio stores a file's own mtime: the initramfs gets copies with a fixed one, so
# the image does not depend on when it was built. kbuild then cannot see a change by mtime,
# so its cpio is dropped whenever a staged file's content changes.
stage_initramfs_file() {
	local src=$1 staged=$KDIR/initramfs/$2
	if ! cmp -s "$src" "$staged"; then
		cp -f "$src" "$staged"
		touch -d "@$SOURCE_DATE_EPOCH" "$staged"
		rm -f "$KDIR/obj/usr/initramfs_data.cpio"
	fi
}

# The raw 32-byte Ed25519 key of a PEM public key: the last 32 bytes of its 44-byte DER.
policy_key_raw() {
	local der
	der=$(openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | od -An -v -tx1 | tr -d ' \n')
	case "$der" in
	302a300506032b6570032100*) [ ${#der} = 88 ] || der= ;;
	*) der= ;;
	esac
	[ -n "$der" ] || die "POLICY_PUBKEY=$1 is not a PEM Ed25519 public key"
	printf '%s' "${der:24}" | xxd -r -p
}

# ROLLBACK_NV=0x01XXXXXX[:counter|:ordinary] as slinit reads it (init/rollback.h): the
# handle in lower case, then the kind of index; a counter unless said otherwise.
rollback_nv_text() {
	local handle=${1%%:*} kind=counter
	[[ $1 == *:* ]] && kind=${1#*:}
	[[ $handle =~ ^0x01[0-9a-fA-F]{6}$ && $kind =~ ^(counter|ordinary)$ ]] ||
		die "ROLLBACK_NV=$1: give a TPM NV index handle 0x01XXXXXX, optionally :counter or :ordinary"
	printf '%s %s\n' "${handle,,}" "$kind"
}

# The list must not be named *.cpio.*: kbuild would embed such a file as compressed cpio data.
write_initramfs_list() {
	local tmp
	mkdir -p "$KDIR/initramfs"
	# A variant's list without slinit must not be rebuilt when slinit changes.
	if grep -q '@SLINIT@' "$INITRAMFS_LIST"; then
		stage_initramfs_file "$BUILD/slinit" init
	fi
	tmp=$(mktemp)
	sed -e "s|@SLINIT@|$KDIR/initramfs/init|g" "$INITRAMFS_LIST" >"$tmp"
	if [ -n "${POLICY_PUBKEY:-}${ROLLBACK_NV:-}" ]; then
		printf '%s\n' "dir /etc 0755 0 0" "dir /etc/sll 0755 0 0" >>"$tmp"
	fi
	if [ -n "${POLICY_PUBKEY:-}" ]; then
		policy_key_raw "$POLICY_PUBKEY" >"$KDIR/policy.pub.new"
		stage_initramfs_file "$KDIR/policy.pub.new" policy.pub
		printf '%s\n' "file /etc/sll/policy.pub $KDIR/initramfs/policy.pub 0444 0 0" >>"$tmp"
	fi
	if [ -n "${ROLLBACK_NV:-}" ]; then
		rollback_nv_text "$ROLLBACK_NV" >"$KDIR/rollback-nv.new"
		stage_initramfs_file "$KDIR/rollback-nv.new" rollback-nv
		printf '%s\n' "file /etc/sll/rollback-nv $KDIR/initramfs/rollback-nv 0444 0 0" >>"$tmp"
	fi
	replace_if_changed "$tmp" "$KDIR/sl.list"
}

step_kconfig() {
	local src
	mkdir -p "$KDIR"
	src=$(kernel_source)
	write_generated_fragment
	configure_kernel "$src"
}

step_kernel() {
	local src
	[ -f "$BUILD/slinit" ] || die "build/slinit missing: run the slinit step first"
	step_kconfig
	write_initramfs_list
	src=$(kernel_source)
	log "building SL kernel (incremental)"
	local cc=gcc
	command -v ccache >/dev/null && [ -z "${CCACHE_DISABLE:-}" ] && cc="ccache gcc"
	make -C "$src" O="$KDIR/obj" ARCH=x86_64 CC="$cc" -j "$JOBS" bzImage \
		>"$BUILD/log-kernel.txt" 2>&1 || {
		tail -n 30 "$BUILD/log-kernel.txt" >&2
		die "kernel build failed, see $BUILD/log-kernel.txt"
	}
}

# --- step: slinit -----------------------------------------------------------------------
step_slinit() {
	make -C "$ROOT" --no-print-directory BUILD="$BUILD" "$BUILD/slinit"
}

# --- step: image ------------------------------------------------------------------------
step_image() {
	local img=$KDIR/obj/arch/x86/boot/bzImage
	[ -f "$img" ] || die "$img missing: run the kernel step first"
	cp -f "$img" "$BUILD/$IMAGE_NAME.tmp" && mv -f "$BUILD/$IMAGE_NAME.tmp" "$BUILD/$IMAGE_NAME"
	printf '%-9s %8d bytes  sha256 %s\n' "$IMAGE_NAME" "$(stat -c %s "$BUILD/$IMAGE_NAME")" \
		"$(sha256sum "$BUILD/$IMAGE_NAME" | cut -d' ' -f1)"
	printf 'slinit    %8d bytes\n' "$(stat -c %s "$BUILD/slinit")"
}

main() {
	local steps=("$@") s
	((${#steps[@]})) || steps=(packages sysroot slinit kernel image)
	for s in "${steps[@]}"; do
		case "$s" in
		packages | sysroot | slinit | kconfig | kernel | image) "step_$s" ;;
		*) die "unknown step '$s' (packages sysroot slinit kconfig kernel image)" ;;
		esac
	done
}

main "$@"
