# Shared by the scripts in scripts/: locating the tree, installing what is missing, building,
# making an ISO and running QEMU. Source it; do not run it.

JASPER_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JASPER_BUILD_GIVEN=${JASPER_BUILD:+1}
JASPER_BUILD=${JASPER_BUILD:-$JASPER_ROOT/build}
JASPER_MESON_OPTIONS=()  # extra `meson setup` options of the build directory (applied to an existing one too)

# Debian packages the scripts need, keyed by a command each provides (or a file, for packages
# that ship no command).
JASPER_PACKAGES=(
    "meson:meson" "ninja:ninja-build" "gcc:gcc" "g++:g++" "python3:python3"
    "qemu-system-x86_64:qemu-system-x86" "grub-mkrescue:grub-common" "xorriso:xorriso"
    "mformat:mtools" "/usr/lib/grub/i386-pc/modinfo.sh:grub-pc-bin" "timeout:coreutils"
    "nm:binutils" "/usr/include/lz4.h:liblz4-dev" "/usr/include/zlib.h:zlib1g-dev"
)

# Installs the missing packages from $@ ("probe:package" pairs) with apt-get when root, or
# prints the command to run and fails otherwise.
jasper_need() {
    local missing=() pair probe pkg
    for pair in "$@"; do
        probe=${pair%%:*}
        pkg=${pair#*:}
        if [[ $probe == /* ]]; then
            [[ -e $probe ]] || missing+=("$pkg")
        else
            command -v "$probe" >/dev/null 2>&1 || missing+=("$pkg")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) -eq 0 ]]; then
        echo "jasper: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2 || true
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || {
            echo "jasper: apt-get install failed" >&2
            return 1
        }
    else
        echo "jasper: missing packages; run: sudo apt-get install -y ${missing[*]}" >&2
        return 1
    fi
}

jasper_need_base() {
    jasper_need "${JASPER_PACKAGES[@]}"
}

# For benchmark scripts: figures are taken without the lock-order checker (kernel/lockdep.h, ~400
# instructions per fault), in build-bench/ unless JASPER_BUILD names a directory.
# JASPER_BENCH_RELEASE=1: the release build instead (README: -Ddebug_checks=false, no debug-only
# checks at all, and the kernel linked with link-time optimisation), in build-release/.
jasper_bench_build() {
    if [[ ${JASPER_BENCH_RELEASE:-0} == 1 ]]; then
        [[ -n $JASPER_BUILD_GIVEN ]] || JASPER_BUILD=$JASPER_ROOT/build-release
        JASPER_MESON_OPTIONS=(-Ddebug_checks=false -Dlockdep=false -Dkernel_lto=true)
    else
        [[ -n $JASPER_BUILD_GIVEN ]] || JASPER_BUILD=$JASPER_ROOT/build-bench
        JASPER_MESON_OPTIONS=(-Dlockdep=false)
    fi
    export JASPER_BUILD  # for scripts/run-user, which the benchmark scripts call
}

# jasper_zbench_text OUT: the text pages of the compressed-memory mix (test/bench/zbench_common.h;
# scripts/bench-vs-linux --zram gives the same file to both systems, scripts/ratio-ceiling reads
# it): real prose that ships on every Debian (base-files' license texts, in this order), then
# Jasper's own docs (docs/*.md, sorted); it grows with the docs (606 KiB, 148 pages on 2026-12-04).
jasper_zbench_text() {
    local lic=/usr/share/common-licenses l
    : >"$1"
    for l in Apache-2.0 Artistic BSD CC0-1.0 GFDL-1.2 GFDL-1.3 GPL-1 GPL-2 GPL-3 LGPL-2 LGPL-2.1 \
        LGPL-3 MPL-1.1 MPL-2.0; do
        cat "$lic/$l" >>"$1" || return 1
    done
    LC_ALL=C cat "$JASPER_ROOT"/docs/*.md >>"$1"
}

# Configures (once, and again when its kind of build gains options) and builds the tree.
jasper_build() {
    mkdir -p "$JASPER_BUILD"
    if [[ ! -f $JASPER_BUILD/build.ninja ]]; then
        meson setup "$JASPER_BUILD" "$JASPER_ROOT" --cross-file "$JASPER_ROOT/arch/x86_64/cross.ini" \
            "${JASPER_MESON_OPTIONS[@]}" >"$JASPER_BUILD/jasper-setup.log" 2>&1 || { cat "$JASPER_BUILD/jasper-setup.log" >&2; return 1; }
    elif [[ "${JASPER_MESON_OPTIONS[*]}" != "$(cat "$JASPER_BUILD/jasper-options.txt" 2>/dev/null)" ]]; then
        # A directory configured before an option was added to its kind of build gets it too.
        meson setup --reconfigure "$JASPER_BUILD" "$JASPER_ROOT" "${JASPER_MESON_OPTIONS[@]}" \
            >"$JASPER_BUILD/jasper-setup.log" 2>&1 || { cat "$JASPER_BUILD/jasper-setup.log" >&2; return 1; }
    fi
    echo "${JASPER_MESON_OPTIONS[*]}" >"$JASPER_BUILD/jasper-options.txt"
    ninja -C "$JASPER_BUILD" >"$JASPER_BUILD/jasper-build.log" 2>&1 || {
        grep -E -B2 -A12 'FAILED|error' "$JASPER_BUILD/jasper-build.log" | head -80 >&2
        return 1
    }
}

# jasper_mkiso OUT.iso CMDLINE [MODULE...]: a GRUB BIOS ISO booting the kernel with CMDLINE and
# the given files as multiboot2 modules. A module's command line is its base name, followed by the
# matching line of $JASPER_MODULE_ARGS (one line per module after the first, for run-user).
jasper_mkiso() {
    local out=$1 cmdline=$2
    shift 2
    local dir
    dir=$(mktemp -d)
    mkdir -p "$dir/boot/grub" "$dir/modules"
    cp "$JASPER_BUILD/jasper.elf" "$dir/boot/jasper.elf"
    {
        echo "set timeout=0"
        echo "set default=0"
        echo "serial --unit=0 --speed=115200"
        echo "terminal_output serial"
        echo "menuentry \"Jasper\" {"
        echo "  multiboot2 /boot/jasper.elf $cmdline"
        local m name i=0 margs
        local -a arglines=()
        [[ -n ${JASPER_MODULE_ARGS:-} ]] && mapfile -t arglines <<<"$JASPER_MODULE_ARGS"
        for m in "$@"; do
            name=$(basename "$m")
            cp "$m" "$dir/modules/$name"
            margs=""
            [[ $i -gt 0 ]] && margs=${arglines[$((i - 1))]:-}
            echo "  module2 /modules/$name $name${margs:+ $margs}"
            i=$((i + 1))
        done
        echo "  boot"
        echo "}"
    } >"$dir/boot/grub/grub.cfg"
    grub-mkrescue -o "$out" "$dir" >"$dir.log" 2>&1 || { cat "$dir.log" >&2; rm -rf "$dir" "$dir.log"; return 1; }
    rm -rf "$dir" "$dir.log"
}

# The QEMU command line shared by every run: headless, serial on stdio, the debug-exit device.
# The CPU model has NX, SMEP, SMAP and 1 GiB pages. JASPER_QEMU_ACCEL=kvm opts in to KVM.
# JASPER_QEMU_SMP=N gives the machine N CPUs (default 1); with more than one, TCG runs one host
# thread per CPU (thread=multi), except under -icount (JASPER_QEMU_ICOUNT), which needs one thread.
jasper_qemu_args() {
    local iso=$1
    local accel=${JASPER_QEMU_ACCEL:-tcg}
    local smp=${JASPER_QEMU_SMP:-1}
    local cpu="qemu64,+nx,+smep,+smap,+pdpe1gb,+fsgsbase"
    [[ $accel == kvm ]] && cpu=host
    [[ $accel == tcg && $smp -gt 1 && -z ${JASPER_QEMU_ICOUNT:-} ]] && accel="tcg,thread=multi"
    QEMU_ARGS=(-machine q35 -accel "$accel" -cpu "$cpu" -smp "$smp" -m "${JASPER_QEMU_MEM:-512M}"
        -display none -serial stdio -monitor none -no-reboot
        -device isa-debug-exit,iobase=0xf4,iosize=0x04
        -cdrom "$iso" -boot d)
    if [[ -n ${JASPER_QEMU_ICOUNT:-} ]]; then
        QEMU_ARGS+=(-icount "shift=$JASPER_QEMU_ICOUNT")
    fi
}

# Maps QEMU's exit status to 0 (the kernel reported success) or 1.
jasper_qemu_status() {
    case $1 in
    33) return 0 ;;
    *) return 1 ;;
    esac
}
