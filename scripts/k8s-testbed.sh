#!/usr/bin/env bash
# Build (or reuse) the loopback Kubernetes test ground: etcd, kube-apiserver and
# kube-controller-manager 1.20.2, all from Debian bookworm packages.
#
#   scripts/k8s-testbed.sh build   fetch + build into the cache if needed, print the bin dir
#   scripts/k8s-testbed.sh path    print the bin dir if built (exit 1 otherwise)
#   scripts/k8s-testbed.sh clean   remove the cache
#
# Cache: $GITPIPE_K8S_CACHE, default ~/.cache/gitpipe-test/k8s-1.20.2 (never in the repo).
# Idempotent and safe to run concurrently (flock). Cold on 2 cores: ~11 CPU-minutes, measured
# 12 min wall under moderate load and 20 min with other heavy jobs running; cached: <0.1 s.
# Set GITPIPE_K8S_KEEP_BUILD=1 to keep the source tree, Go toolchain and build cache (~3 GB);
# otherwise only bin/ (~225 MB) and the downloaded .deb/source files (~120 MB) stay.
set -euo pipefail

CACHE="${GITPIPE_K8S_CACHE:-$HOME/.cache/gitpipe-test/k8s-1.20.2}"
BIN="$CACHE/bin"
K8S_VERSION="v1.20.2"
GO_PKGS=(golang-1.19-go golang-1.19-src)
ETCD_PKG="etcd-server"
BINARIES=(etcd kube-apiserver kube-controller-manager)

log() { printf '[k8s-testbed] %s\n' "$*" >&2; }

built() {
    local b
    for b in "${BINARIES[@]}"; do
        [[ -x "$BIN/$b" ]] || return 1
    done
    [[ -f "$BIN/.complete" ]]
}

need_root_apt() {
    # Install Debian packages only when a command they provide is missing.
    local missing=() pair cmd pkg
    for pair in make:make dpkg-source:dpkg-dev openssl:openssl xz:xz-utils prlimit:util-linux rsync:rsync \
                flock:util-linux tar:tar; do
        cmd="${pair%%:*}"; pkg="${pair#*:}"
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        log "installing missing packages: ${missing[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1
    fi
}

apt_download() {
    # apt-get download PKG... into $1 (runs apt-get update once if the package is unknown).
    local dest="$1"; shift
    mkdir -p "$dest"
    if ! apt-cache show "$1" >/dev/null 2>&1; then
        apt-get update -q >/dev/null
    fi
    (cd "$dest" && apt-get -q -o APT::Sandbox::User=root download "$@" >/dev/null)
}

private_src_apt() {
    # A private apt config with deb-src twins of this machine's own apt sources, so the
    # system's sources.list is left untouched.
    local apt="$CACHE/apt" f
    mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial"
    : >"$apt/sources.list"
    rm -f "$apt/parts/"*
    if [[ -f /etc/apt/sources.list ]]; then
        grep -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list \
            | sed -E 's/^[[:space:]]*deb[[:space:]]/deb-src /' >"$apt/parts/main.list" || true
    fi
    for f in /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        grep -E '^[[:space:]]*deb[[:space:]]' "$f" \
            | sed -E 's/^[[:space:]]*deb[[:space:]]/deb-src /' >"$apt/parts/$(basename "$f")" || true
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        sed -E 's/^Types:.*/Types: deb-src/' "$f" >"$apt/parts/$(basename "$f")"
    done
    APT_SRC_OPTS=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/parts"
                  -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
                  -o "APT::Sandbox::User=root")
    apt-get -q "${APT_SRC_OPTS[@]}" update >/dev/null || log "apt-get update (deb-src) reported errors; trying anyway"
}

fetch_source() {
    local dl="$CACHE/downloads/src"
    if ! compgen -G "$dl/kubernetes_*.dsc" >/dev/null; then
        log "downloading Debian source package 'kubernetes'"
        private_src_apt
        mkdir -p "$dl"
        (cd "$dl" && apt-get -q "${APT_SRC_OPTS[@]}" source --download-only kubernetes >/dev/null)
    fi
    if [[ ! -f "$CACHE/src/.unpacked" ]]; then
        log "unpacking source"
        rm -rf "$CACHE/src"
        dpkg-source --no-check -x "$(compgen -G "$dl/kubernetes_*.dsc" | head -1)" "$CACHE/src" >/dev/null
        rm -f "$CACHE"/kubernetes_*.orig.tar.*  # dpkg-source's copy next to the tree
        touch "$CACHE/src/.unpacked"
    fi
}

fetch_go() {
    local root="$CACHE/go"
    if [[ ! -x "$root/usr/lib/go-1.19/bin/go" ]]; then
        log "downloading ${GO_PKGS[*]}"
        apt_download "$CACHE/downloads/go" "${GO_PKGS[@]}"
        rm -rf "$root"
        local deb
        for deb in "$CACHE/downloads/go/"*.deb; do dpkg -x "$deb" "$root"; done
    fi
    GOROOT="$root/usr/lib/go-1.19"
}

fetch_etcd() {
    if [[ ! -x "$BIN/etcd" ]]; then
        log "downloading $ETCD_PKG"
        apt_download "$CACHE/downloads/etcd" "$ETCD_PKG"
        rm -rf "$CACHE/etcd-root"
        dpkg -x "$(compgen -G "$CACHE/downloads/etcd/${ETCD_PKG}_*.deb" | head -1)" "$CACHE/etcd-root"
        mkdir -p "$BIN"
        install -m 0755 "$CACHE/etcd-root/usr/bin/etcd" "$BIN/etcd"
        rm -rf "$CACHE/etcd-root"
    fi
}

build_k8s() {
    if [[ -x "$BIN/kube-apiserver" && -x "$BIN/kube-controller-manager" ]]; then
        return
    fi
    fetch_go
    fetch_source
    local src="$CACHE/src" vfile="$CACHE/version.env"
    cat >"$vfile" <<EOF
KUBE_GIT_COMMIT='0000000000000000000000000000000000000000'
KUBE_GIT_TREE_STATE='archive'
KUBE_GIT_VERSION='$K8S_VERSION'
KUBE_GIT_MAJOR='1'
KUBE_GIT_MINOR='20'
EOF
    log "building kube-apiserver + kube-controller-manager (several minutes cold)"
    local start=$SECONDS
    (
        cd "$src"
        rm -rf _output  # a half-finished earlier build leaves stale tool stubs
        export GOROOT PATH="$GOROOT/bin:$PATH" GOCACHE="$CACHE/gocache" GOPATH="$CACHE/gopath"
        export GOTOOLCHAIN=local GOFLAGS="" CGO_ENABLED=0 KUBE_GIT_VERSION_FILE="$vfile"
        make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$CACHE/build.log" 2>&1
    ) || { log "build failed; see $CACHE/build.log"; tail -30 "$CACHE/build.log" >&2; exit 1; }
    log "built in $((SECONDS - start)) s"
    mkdir -p "$BIN"
    local out b
    for b in kube-apiserver kube-controller-manager; do
        out="$(find "$src/_output" -type f -name "$b" -perm -u+x | head -1)"
        [[ -n "$out" ]] || { log "$b not found under $src/_output"; exit 1; }
        install -m 0755 "$out" "$BIN/$b"
    done
    if [[ "${GITPIPE_K8S_KEEP_BUILD:-0}" != 1 ]]; then
        chmod -R u+w "$CACHE/gopath" "$CACHE/gocache" 2>/dev/null || true
        rm -rf "$src" "$CACHE/gocache" "$CACHE/gopath" "$CACHE/go" "$CACHE/apt"
    fi
}

cmd_build() {
    mkdir -p "$CACHE"
    if built; then
        echo "$BIN"
        return
    fi
    exec 9>"$CACHE/.lock"
    flock 9
    if ! built; then
        need_root_apt
        fetch_etcd
        build_k8s
        "$BIN/kube-apiserver" --version >&2
        "$BIN/etcd" --version | sed -n 1p >&2  # sed reads all: no SIGPIPE under pipefail
        touch "$BIN/.complete"
    fi
    log "binaries in $BIN"
    echo "$BIN"
}

case "${1:-build}" in
    build) cmd_build ;;
    path) built && echo "$BIN" ;;
    clean) rm -rf "$CACHE" ;;
    *) echo "usage: $0 [build|path|clean]" >&2; exit 2 ;;
esac
